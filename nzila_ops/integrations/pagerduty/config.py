"""``NZILA_OPS["PAGERDUTY"]``, checked: what paging and ``sync_pagerduty`` rely on.

Every problem is one ConfigurationError line naming the setting, so a command exits 2 with it
and a page is recorded as failed for good (no retry can fix a setting).
"""

from __future__ import annotations

import math
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError

WHERE = "NZILA_OPS['PAGERDUTY']"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SCHEDULE_KEYS = ("NAME", "USERS", "ROTATION_DAYS")
LEVEL_KEYS = ("SCHEDULES", "DELAY_MINUTES")
POLICY_KEYS = ("LEVELS", "REPEAT")
# PagerDuty's own bounds: an escalation policy repeats at most 9 times, a name is 255 long.
MAX_REPEAT = 9
MAX_NAME = 255
HANDOFF = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def pagerduty_config(*, for_sync: bool = False) -> dict[str, Any]:
    """The PAGERDUTY section (completed with its defaults by get_config()), validated.
    ``for_sync``: also what provisioning needs (the API token, a user in every schedule)."""
    config = dict(get_config()["PAGERDUTY"])
    for key in ("EVENTS_URL", "API_URL"):
        if not str(config[key] or "").startswith(("https://", "http://")):
            raise ConfigurationError(f"{WHERE}[{key!r}] must be an http(s) URL")
    for key, low in (
        ("ATTEMPTS", 1),
        ("BACKOFF_SECONDS", 0),
        ("BACKOFF_MAX_SECONDS", 0),
        ("TIMEOUT_SECONDS", 0.001),
    ):
        value = config[key]
        if not _number(value) or value < low:
            raise ConfigurationError(f"{WHERE}[{key!r}] must be a number of at least {low}")
    _check_names(config)
    if for_sync:
        token = config["API_TOKEN"]
        if not isinstance(token, str) or not token.strip():
            raise ConfigurationError(
                f"{WHERE}['API_TOKEN'] is not set: create a REST API key with write access "
                "(PagerDuty, Integrations, API Access Keys)"
            )
        config["API_TOKEN"] = token.strip()
    config["SCHEDULES"] = {
        key: _schedule(key, spec, for_sync) for key, spec in _dict(config, "SCHEDULES").items()
    }
    config["ESCALATION_POLICIES"] = {
        name: _policy(name, spec, config["SCHEDULES"])
        for name, spec in _dict(config, "ESCALATION_POLICIES").items()
    }
    services = _dict(config, "SERVICES")
    for service, policy in services.items():
        if not isinstance(policy, str) or policy not in config["ESCALATION_POLICIES"]:
            raise ConfigurationError(
                f"{WHERE}['SERVICES'][{service!r}] names escalation policy {policy!r}, which is "
                f"not in ESCALATION_POLICIES ({', '.join(config['ESCALATION_POLICIES'])})"
            )
    for pattern, service in _dict(config, "COMPONENT_SERVICES").items():
        if not isinstance(service, str) or service not in services:
            raise ConfigurationError(
                f"{WHERE}['COMPONENT_SERVICES'][{pattern!r}] is {service!r}, not one of "
                f"SERVICES ({', '.join(services)})"
            )
    if not isinstance(config["DEFAULT_SERVICE"], str) or config["DEFAULT_SERVICE"] not in services:
        raise ConfigurationError(f"{WHERE}['DEFAULT_SERVICE'] must be one of SERVICES")
    keys = _dict(config, "ROUTING_KEYS")
    for service, key in keys.items():
        if service not in services:
            raise ConfigurationError(
                f"{WHERE}['ROUTING_KEYS'] has {service!r}, not one of SERVICES "
                f"({', '.join(services)})"
            )
        if key is not None and not isinstance(key, str):
            raise ConfigurationError(f"{WHERE}['ROUTING_KEYS'][{service!r}] must be a string")
    config["ROUTING_KEYS"] = {s: k.strip() for s, k in keys.items() if k and k.strip()}
    return config


def _check_names(config: dict[str, Any]) -> None:
    day = str(config["HANDOFF_DAY"]).lower()
    if day not in WEEKDAYS:
        raise ConfigurationError(f"{WHERE}['HANDOFF_DAY'] must be a weekday, like 'monday'")
    config["HANDOFF_DAY"] = day
    if not isinstance(config["HANDOFF_TIME"], str) or not HANDOFF.match(config["HANDOFF_TIME"]):
        raise ConfigurationError(f"{WHERE}['HANDOFF_TIME'] must be HH:MM (24 h), like '09:00'")
    try:
        if not isinstance(config["TIME_ZONE"], str):
            raise ValueError(config["TIME_ZONE"])
        ZoneInfo(config["TIME_ZONE"])
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigurationError(
            f"{WHERE}['TIME_ZONE'] must be an IANA time zone, like 'Africa/Lagos' or 'UTC'"
        ) from None
    prefix = config["NAME_PREFIX"]
    if not isinstance(prefix, str) or len(prefix) > 64:
        raise ConfigurationError(f"{WHERE}['NAME_PREFIX'] must be a string (at most 64 long)")


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _dict(config: dict[str, Any], key: str) -> dict[str, Any]:
    value = config[key]
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise ConfigurationError(f"{WHERE}[{key!r}] must be a dict with names as keys")
    return value


def _schedule(key: str, spec: Any, for_sync: bool) -> dict[str, Any]:
    where = f"{WHERE}['SCHEDULES'][{key!r}]"
    if not isinstance(spec, dict) or set(spec) - set(SCHEDULE_KEYS):
        raise ConfigurationError(f"{where} must be a dict of {', '.join(SCHEDULE_KEYS)}")
    schedule = {"NAME": key, "USERS": [], "ROTATION_DAYS": 7, **spec}
    if not isinstance(schedule["NAME"], str) or not 0 < len(schedule["NAME"]) <= MAX_NAME:
        raise ConfigurationError(f"{where}['NAME'] must be a name")
    users = schedule["USERS"]
    if isinstance(users, str):
        users = [u for u in users.split(",") if u.strip()]
    if not isinstance(users, list | tuple) or not all(
        isinstance(u, str) and EMAIL.match(u.strip()) for u in users
    ):
        raise ConfigurationError(f"{where}['USERS'] must be a list of PagerDuty users' e-mails")
    schedule["USERS"] = [u.strip() for u in users]
    if for_sync and not schedule["USERS"]:
        raise ConfigurationError(
            f"{where}['USERS'] is empty: name the e-mails of the people in this rotation"
        )
    days = schedule["ROTATION_DAYS"]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise ConfigurationError(f"{where}['ROTATION_DAYS'] must be whole days, 1 to 365")
    return schedule


def _policy(name: str, spec: Any, schedules: dict[str, Any]) -> dict[str, Any]:
    where = f"{WHERE}['ESCALATION_POLICIES'][{name!r}]"
    if not isinstance(spec, dict) or set(spec) - set(POLICY_KEYS):
        raise ConfigurationError(f"{where} must be a dict of {', '.join(POLICY_KEYS)}")
    repeat = spec.get("REPEAT", 0)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 0 <= repeat <= MAX_REPEAT:
        raise ConfigurationError(f"{where}['REPEAT'] must be 0 to {MAX_REPEAT}")
    levels = spec.get("LEVELS")
    if not isinstance(levels, list | tuple) or not levels:
        raise ConfigurationError(f"{where}['LEVELS'] must be a non-empty list")
    checked = []
    for number, level in enumerate(levels, 1):
        at = f"{where} level {number}"
        if not isinstance(level, dict) or set(level) != set(LEVEL_KEYS):
            raise ConfigurationError(f"{at} must be a dict of {', '.join(LEVEL_KEYS)}")
        targets = level["SCHEDULES"]
        if not isinstance(targets, list | tuple) or not targets:
            raise ConfigurationError(f"{at}: SCHEDULES must be a non-empty list")
        unknown = [t for t in targets if not isinstance(t, str) or t not in schedules]
        if unknown:
            raise ConfigurationError(
                f"{at}: schedule {unknown[0]!r} is not in SCHEDULES ({', '.join(schedules)})"
            )
        delay = level["DELAY_MINUTES"]
        if isinstance(delay, bool) or not isinstance(delay, int) or not 1 <= delay <= 1440:
            raise ConfigurationError(f"{at}: DELAY_MINUTES must be whole minutes, 1 to 1440")
        checked.append({"SCHEDULES": list(targets), "DELAY_MINUTES": delay})
    return {"LEVELS": checked, "REPEAT": repeat}
