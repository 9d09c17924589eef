"""Validation of NZILA_OPS["SLA"] (called by nzila_ops.conf; pure, reads no settings)."""

from __future__ import annotations

import math
import re
import zoneinfo
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit

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
    _validate_credits(section)
    _validate_incident_targets(section)
    _validate_prometheus(section)
    _validate_burn_rate_rules(section["BURN_RATE_RULES"], target)


BURN_RULE_KEYS = ("NAME", "LONG_MINUTES", "SHORT_MINUTES", "FACTOR", "SEVERITY")
# A window of up to a year keeps its start a finite datetime and its query reasonable.
MAX_WINDOW_MINUTES = 366 * 24 * 60


def _validate_burn_rate_rules(rules: Any, target: float) -> None:
    where = "NZILA_OPS['SLA']['BURN_RATE_RULES']"
    if not isinstance(rules, list | tuple):
        raise ConfigurationError(f"{where} must be a list of rules (dicts of {BURN_RULE_KEYS})")
    severities: dict[str, str] = {}
    for index, rule in enumerate(rules):
        here = f"{where}[{index}]"
        if not isinstance(rule, dict) or set(rule) != set(BURN_RULE_KEYS):
            raise ConfigurationError(
                f"{here} must be a dict with exactly the keys {BURN_RULE_KEYS}"
            )
        name = rule["NAME"]
        # The name is in the incident's key (error_budget:<name>) and the docs' tables.
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_-]{1,40}", name):
            raise ConfigurationError(f"{here}['NAME'] must be a short lowercase name like 'page'")
        numbers = {k: rule[k] for k in ("LONG_MINUTES", "SHORT_MINUTES", "FACTOR")}
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in numbers.values()):
            raise ConfigurationError(f"{here}: LONG_MINUTES, SHORT_MINUTES and FACTOR are numbers")
        if not 1 <= rule["SHORT_MINUTES"] < rule["LONG_MINUTES"] <= MAX_WINDOW_MINUTES:
            raise ConfigurationError(
                f"{here}: SHORT_MINUTES must be at least 1 and below LONG_MINUTES, at most "
                f"{MAX_WINDOW_MINUTES} (a year)"
            )
        # Above 100 / (100 - target) the rule would need more than all the time down.
        if (
            not 0 < rule["FACTOR"] < math.inf  # NaN fails it too
            or Fraction(str(rule["FACTOR"])) * (100 - Fraction(str(target))) > 100
        ):
            raise ConfigurationError(
                f"{here}['FACTOR'] is {rule['FACTOR']!r}: it must be above 0 and at most "
                f"100 / (100 - TARGET_PERCENT), or the rule could never fire"
            )
        if rule["SEVERITY"] not in ("P0", "P1", "P2", "P3"):
            raise ConfigurationError(f"{here}['SEVERITY'] must be P0, P1, P2 or P3")
        # One name is one incident, which has one severity.
        if severities.setdefault(name, rule["SEVERITY"]) != rule["SEVERITY"]:
            raise ConfigurationError(
                f"{where}: the rules named {name!r} have different severities; rules of one name "
                "share one incident, so one severity"
            )


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _validate_credits(section: dict[str, Any]) -> None:
    credits = section["CREDITS"]
    message = (
        "NZILA_OPS['SLA']['CREDITS'] must be a list of [uptime below this percent (0-100], "
        "credit in percent of the monthly fee (0-100]] pairs, thresholds all different"
    )
    if not isinstance(credits, list | tuple):
        raise ConfigurationError(message)
    for tier in credits:
        if (
            not isinstance(tier, list | tuple)
            or len(tier) != 2
            or not all(_number(v) and 0 < v <= 100 for v in tier)
        ):
            raise ConfigurationError(message)
    if len({tier[0] for tier in credits}) != len(credits):
        raise ConfigurationError(message)


def _validate_incident_targets(section: dict[str, Any]) -> None:
    # Imported here: nzila_ops.conf imports this module.
    from nzila_ops.conf import DEFAULTS

    defaults = DEFAULTS["SLA"]["INCIDENT_TARGETS"]
    given = section["INCIDENT_TARGETS"]
    if not isinstance(given, dict) or set(given) - set(defaults):
        raise ConfigurationError(
            "NZILA_OPS['SLA']['INCIDENT_TARGETS'] must be a dict of P0, P1, P2 or P3 -> "
            "{'DETECT': minutes, 'RESPOND': minutes, 'RESOLVE': minutes}"
        )
    merged = {}
    # A severity left out, or a target left out of one, keeps its default.
    for severity, targets in defaults.items():
        override = given.get(severity, {})
        if not isinstance(override, dict) or set(override) - set(targets):
            raise ConfigurationError(
                f"NZILA_OPS['SLA']['INCIDENT_TARGETS'][{severity!r}] must be a dict of "
                "DETECT, RESPOND, RESOLVE -> minutes"
            )
        merged[severity] = {**targets, **override}
        for key, minutes in merged[severity].items():
            # A year at most keeps every computed deadline a finite datetime.
            if not _number(minutes) or not 0 < minutes <= 525_600:
                raise ConfigurationError(
                    f"NZILA_OPS['SLA']['INCIDENT_TARGETS'][{severity!r}][{key!r}] must be a "
                    "number of minutes above 0, at most a year"
                )
    section["INCIDENT_TARGETS"] = merged


def _validate_prometheus(section: dict[str, Any]) -> None:
    url = section["PROMETHEUS_URL"]
    if url is not None:
        try:
            parts = urlsplit(url) if isinstance(url, str) else None
        except ValueError:  # an unbalanced IPv6 bracket
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                "NZILA_OPS['SLA']['PROMETHEUS_URL'] must be None or an http(s) URL of the "
                "Prometheus server, like http://prometheus:9090"
            )
    timeout = section["PROMETHEUS_TIMEOUT_SECONDS"]
    if not _number(timeout) or not 0 < timeout <= 60:
        raise ConfigurationError(
            "NZILA_OPS['SLA']['PROMETHEUS_TIMEOUT_SECONDS'] must be a number of seconds, 0 to 60"
        )
