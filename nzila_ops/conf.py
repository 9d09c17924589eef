"""The one place nzila_ops reads its settings.

``settings.NZILA_OPS`` is a dict merged over ``DEFAULTS`` and validated by ``get_config()``. The
result is cached and the cache is cleared on Django's ``setting_changed`` so that
``override_settings`` works in tests. Settings are never read at import time. The defaults, each
with its meaning, are in nzila_ops.defaults (re-exported here as ``DEFAULTS``).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from nzila_ops.defaults import DEFAULTS
from nzila_ops.exceptions import ConfigurationError

__all__ = ["DEFAULTS", "get_config"]

BACKUP_TYPES = ("hourly", "daily", "weekly", "monthly", "manual")
COMPRESSIONS = ("zstd", "gzip")
SUCCESS_NOTIFICATIONS = ("each", "digest", "off")
# Settings that group sub-settings: a user's dict is completed with the defaults it leaves out,
# and a sub-setting that does not exist is refused (a typo must not silently keep a default).
SECTIONS = ("RETENTION", "UPTIMEROBOT", "PAGERDUTY", "WEBHOOKS", "METRICS", "SLA")


def _validate(config: dict[str, Any]) -> None:
    # The sections' validators are imported on the first get_config(), not with this module:
    # the models import it at set-up of every manage.py command (issue 16).
    from nzila_ops.backups.copy_settings import check_retention_limits
    from nzila_ops.backups.copy_settings import validate as validate_copies
    from nzila_ops.observability.metrics.config import validate as validate_metrics
    from nzila_ops.sla.config import validate as validate_sla
    from nzila_ops.storage_urls import normalise_storages

    if config["COMPRESSION"] not in COMPRESSIONS:
        raise ConfigurationError(
            f"NZILA_OPS['COMPRESSION'] is {config['COMPRESSION']!r}; use one of {COMPRESSIONS}"
        )
    level = config["COMPRESSION_LEVEL"]
    if level is not None and not isinstance(level, int):
        raise ConfigurationError("NZILA_OPS['COMPRESSION_LEVEL'] must be an integer or None")
    recipients = config["AGE_RECIPIENTS"]
    if isinstance(recipients, str):
        config["AGE_RECIPIENTS"] = [r.strip() for r in recipients.split(",") if r.strip()]
    elif not isinstance(recipients, list | tuple):
        raise ConfigurationError("NZILA_OPS['AGE_RECIPIENTS'] must be a list of age public keys")
    config["STORAGES"] = normalise_storages(config["STORAGES"])
    validate_copies(config)
    _validate_drill_storages(config)
    if config["NOTIFY_ON_SUCCESS"] not in SUCCESS_NOTIFICATIONS:
        raise ConfigurationError(
            f"NZILA_OPS['NOTIFY_ON_SUCCESS'] is {config['NOTIFY_ON_SUCCESS']!r}; "
            f"use one of {SUCCESS_NOTIFICATIONS}"
        )
    bad = [k for k, v in config["RETENTION"].items() if not isinstance(v, int) or v < 0]
    if bad:
        raise ConfigurationError(
            f"NZILA_OPS['RETENTION'] has invalid entries {bad}: use non-negative integers"
        )
    check_retention_limits("'RETENTION'", config["RETENTION"])
    _validate_incidents(config)
    validate_metrics(config["METRICS"])
    validate_sla(config["SLA"])
    beat, timeout = config["BACKUP_HEARTBEAT_SECONDS"], config["BACKUP_HEARTBEAT_TIMEOUT_SECONDS"]
    if not all(isinstance(v, int | float) and v > 0 for v in (beat, timeout)) or timeout < 2 * beat:
        raise ConfigurationError(
            "NZILA_OPS['BACKUP_HEARTBEAT_SECONDS'] and ['BACKUP_HEARTBEAT_TIMEOUT_SECONDS'] must "
            "be positive numbers, the timeout at least twice the heartbeat"
        )
    gap = config["HEALTH_SAMPLE_GAP_SECONDS"]
    if isinstance(gap, bool) or not isinstance(gap, int | float) or gap <= 0:
        raise ConfigurationError(
            "NZILA_OPS['HEALTH_SAMPLE_GAP_SECONDS'] must be a positive number of seconds"
        )
    crons = ("BACKUP_CRON", "RETENTION_CRON", "DRILL_CRON", "RPO_WATCH_CRON", "DIGEST_CRON",
             "HEALTH_SAMPLE_CRON", "INCIDENT_RETRY_CRON", "COPY_CATCH_UP_CRON")  # fmt: skip
    optional = ("ALERT_DRILL_CRON",) if config["ALERT_DRILL_CRON"] is not None else ()
    for key in crons + optional:
        if not isinstance(config[key], str) or len(config[key].split()) != 5:
            raise ConfigurationError(
                f"NZILA_OPS[{key!r}] must be a crontab with 5 fields, like '0 * * * *'"
            )


def _validate_drill_storages(config: dict[str, Any]) -> None:
    names = config["DRILL_STORAGES"]
    if isinstance(names, str):
        names = config["DRILL_STORAGES"] = [n.strip() for n in names.split(",") if n.strip()]
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise ConfigurationError("NZILA_OPS['DRILL_STORAGES'] must be a list of storage names")
    unknown = [n for n in names if n not in config["STORAGES"]]
    if unknown:
        known = ", ".join(sorted(config["STORAGES"])) or "none configured"
        raise ConfigurationError(
            f"NZILA_OPS['DRILL_STORAGES'] names {unknown}, not in NZILA_OPS['STORAGES'] ({known})"
        )


def _validate_incidents(config: dict[str, Any]) -> None:
    severities = config["INCIDENT_SEVERITIES"]
    if not isinstance(severities, dict):
        raise ConfigurationError(
            "NZILA_OPS['INCIDENT_SEVERITIES'] must be a dict of name -> P0, P1, P2 or P3"
        )
    merged = {**DEFAULTS["INCIDENT_SEVERITIES"], **severities}
    bad = sorted(str(k) for k, v in merged.items() if v not in ("P0", "P1", "P2", "P3"))
    if bad:
        raise ConfigurationError(
            f"NZILA_OPS['INCIDENT_SEVERITIES'] has invalid entries {bad}: use P0, P1, P2 or P3"
        )
    config["INCIDENT_SEVERITIES"] = merged
    notifiers = config["INCIDENT_NOTIFIERS"]
    if not isinstance(notifiers, list | tuple) or not all(isinstance(n, str) for n in notifiers):
        raise ConfigurationError("NZILA_OPS['INCIDENT_NOTIFIERS'] must be a list of dotted paths")
    # Upper bounds keep the times computed from them (timedelta, datetime) finite.
    limits = {"INCIDENT_FLAP_SECONDS": 7 * 86400, "INCIDENT_DELIVERY_RETRY_SECONDS": 86400,
              "INCIDENT_DELIVERY_MAX_ATTEMPTS": 1000}  # fmt: skip
    for key, limit in limits.items():
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= limit:
            raise ConfigurationError(f"NZILA_OPS[{key!r}] must be a number from 1 to {limit}")


@functools.cache
def get_config() -> dict[str, Any]:
    """The merged, validated NZILA_OPS settings. Raises ConfigurationError when invalid."""
    user = getattr(settings, "NZILA_OPS", {}) or {}
    if not isinstance(user, dict):
        raise ConfigurationError("settings.NZILA_OPS must be a dict")
    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        raise ConfigurationError(f"unknown NZILA_OPS setting(s): {', '.join(unknown)}")
    config = copy.deepcopy(DEFAULTS)
    config.update(copy.deepcopy(user))
    for section in SECTIONS:
        config[section] = _complete_section(section, config[section])
    _validate(config)
    return config


def _complete_section(section: str, given: Any) -> dict[str, Any]:
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise ConfigurationError(f"NZILA_OPS[{section!r}] must be a dict")
    unknown = sorted(set(given) - set(DEFAULTS[section]))
    if unknown:
        raise ConfigurationError(
            f"unknown NZILA_OPS[{section!r}] setting(s) {', '.join(unknown)}: use "
            f"{', '.join(DEFAULTS[section])}"
        )
    return {**DEFAULTS[section], **given}


# The settings the config, or what is built from it, depends on: the default health checks
# follow DATABASES, and have a `redis` check only when the broker or the cache is a Redis.
CONFIG_SETTINGS = (
    "NZILA_OPS",
    "DATABASES",
    "CELERY_BROKER_URL",
    "CELERY_BROKER_WRITE_URL",
    "CACHES",
)


@receiver(setting_changed)
def _clear_config_cache(*, setting: str, **kwargs: Any) -> None:
    if setting in CONFIG_SETTINGS:
        get_config.cache_clear()
