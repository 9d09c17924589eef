"""Validation of NZILA_OPS["METRICS"] (called by nzila_ops.conf; pure, reads no settings)."""

from __future__ import annotations

import ipaddress
from typing import Any

from nzila_ops.exceptions import ConfigurationError


def validate(section: dict[str, Any]) -> None:
    token = section["TOKEN"]
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise ConfigurationError("NZILA_OPS['METRICS']['TOKEN'] must be a non-empty string or None")
    allowed = section["ALLOWED_IPS"]
    if isinstance(allowed, str):
        allowed = [a.strip() for a in allowed.split(",") if a.strip()]
    if not isinstance(allowed, list | tuple):
        raise ConfigurationError("NZILA_OPS['METRICS']['ALLOWED_IPS'] must be a list")
    for entry in allowed:
        try:
            ipaddress.ip_network(str(entry), strict=False)
        except ValueError:
            raise ConfigurationError(
                f"NZILA_OPS['METRICS']['ALLOWED_IPS'] has {entry!r}: not an address or network"
            ) from None
    section["ALLOWED_IPS"] = list(allowed)
    queues = section["CELERY_QUEUES"]
    if not isinstance(queues, list | tuple) or not all(isinstance(q, str) for q in queues):
        raise ConfigurationError("NZILA_OPS['METRICS']['CELERY_QUEUES'] must be a list of names")
    if not isinstance(section["BUSINESS"], dict):
        raise ConfigurationError("NZILA_OPS['METRICS']['BUSINESS'] must be a dict")
    for key in ("BUSINESS_TIMEOUT_SECONDS", "BUSINESS_CACHE_SECONDS"):
        value = section[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigurationError(f"NZILA_OPS['METRICS'][{key!r}] must be a number >= 0")
