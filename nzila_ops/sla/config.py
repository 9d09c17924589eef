"""Validation of NZILA_OPS["SLA"] (called by nzila_ops.conf; pure, reads no settings)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from nzila_ops.exceptions import ConfigurationError


def validate(section: dict[str, Any]) -> None:
    try:
        zoneinfo.ZoneInfo(str(section["TIME_ZONE"]))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"NZILA_OPS['SLA']['TIME_ZONE'] is {section['TIME_ZONE']!r}: not an IANA time zone"
        ) from None
    target = section["TARGET_PERCENT"]
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target < 100:
        raise ConfigurationError("NZILA_OPS['SLA']['TARGET_PERCENT'] must be a number in (0, 100)")
    components = section["COMPONENTS"]
    if components is not None and (
        not isinstance(components, list | tuple) or not all(isinstance(c, str) for c in components)
    ):
        raise ConfigurationError("NZILA_OPS['SLA']['COMPONENTS'] must be a list of names or None")
    if not isinstance(section["PUBLIC_COMPONENTS"], dict):
        raise ConfigurationError(
            "NZILA_OPS['SLA']['PUBLIC_COMPONENTS'] must be a dict of name -> public name"
        )
    for key in ("REPORT_CRON", "BURN_RATE_CRON"):
        if not isinstance(section[key], str) or len(section[key].split()) != 5:
            raise ConfigurationError(
                f"NZILA_OPS['SLA'][{key!r}] must be a crontab with 5 fields, like '0 6 1 * *'"
            )
