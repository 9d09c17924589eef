"""The checks this deployment runs: NZILA_OPS['HEALTH_CHECKS'], or the built-in set."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.health.base import Check

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
CHECKS = "nzila_ops.health.checks"


def default_checks() -> list[dict[str, Any]]:
    """database (per alias), cache, redis (when the deployment has a Redis), Celery workers
    and beat, backup storage, backup freshness (per backed-up alias), migrations, disk. The
    first four are critical: they make up /ops/health/; the others have their own endpoints."""
    specs: list[dict[str, Any]] = []
    for alias in settings.DATABASES:
        name = "database" if alias == "default" else f"database_{alias}"
        specs.append({"CHECK": f"{CHECKS}.database.DatabaseCheck", "NAME": name,
                      "OPTIONS": {"alias": alias}})  # fmt: skip
    from nzila_ops.health.checks.redis import default_redis_url

    specs.append({"CHECK": f"{CHECKS}.cache.CacheCheck"})
    # Only a deployment with a Redis (its broker's or its cache's) has one to PING: another
    # broker's URL (RabbitMQ, the demo's filesystem transport) made it fail for ever.
    if default_redis_url():
        specs.append({"CHECK": f"{CHECKS}.redis.RedisCheck"})
    specs += [
        {"CHECK": f"{CHECKS}.celery.CeleryWorkersCheck"},
        {"CHECK": f"{CHECKS}.celery.CeleryBeatCheck", "CRITICAL": False},
        {"CHECK": f"{CHECKS}.backups.BackupStorageCheck", "CRITICAL": False},
    ]
    for alias in get_config()["BACKUP_DATABASES"]:
        name = "backup_freshness" if alias == "default" else f"backup_freshness_{alias}"
        specs.append({"CHECK": f"{CHECKS}.backups.BackupFreshnessCheck", "NAME": name,
                      "CRITICAL": False, "OPTIONS": {"alias": alias}})  # fmt: skip
    specs += [
        {"CHECK": f"{CHECKS}.system.MigrationsCheck"},
        {"CHECK": f"{CHECKS}.system.DiskSpaceCheck", "CRITICAL": False},
    ]
    return specs


def _build(spec: str | dict[str, Any]) -> Check:
    if isinstance(spec, str):
        spec = {"CHECK": spec}
    if not isinstance(spec, dict) or "CHECK" not in spec:
        raise ConfigurationError(f"NZILA_OPS['HEALTH_CHECKS'] entry {spec!r} needs a CHECK path")
    try:
        check_class = import_string(spec["CHECK"])
    except ImportError as exc:
        raise ConfigurationError(f"cannot import health check {spec['CHECK']}: {exc}") from None
    # Found here (system check E004), not as a TypeError at every poll.
    timeout = spec.get("TIMEOUT")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise ConfigurationError(
            f"health check {spec['CHECK']}: TIMEOUT must be a positive number of seconds"
        )
    if not isinstance(spec.get("CRITICAL", False), bool | None):
        raise ConfigurationError(f"health check {spec['CHECK']}: CRITICAL must be True or False")
    if not isinstance(spec.get("OPTIONS", {}), dict):
        raise ConfigurationError(f"health check {spec['CHECK']}: OPTIONS must be a dict")
    return check_class(
        name=spec.get("NAME"),
        critical=spec.get("CRITICAL"),
        timeout=spec.get("TIMEOUT"),
        **spec.get("OPTIONS", {}),
    )


# The checks built for one settings object: every health request needs them, and building
# means importing dotted paths. get_config() returns a new object when settings change; the
# old one is held here so that its identity cannot be reused.
_built: tuple[dict[str, Any], list[Check]] | None = None


def get_checks() -> list[Check]:
    """The configured checks, in order; names validated and unique. Checks hold only their
    options, so the same instances serve every request."""
    global _built
    config = get_config()
    if _built is not None and _built[0] is config:
        return _built[1]
    checks = _build_all(config)
    _built = (config, checks)
    return checks


def _build_all(config: dict[str, Any]) -> list[Check]:
    configured = config["HEALTH_CHECKS"]
    if configured is None:
        configured = default_checks() + list(config["HEALTH_EXTRA_CHECKS"])
    checks = [_build(spec) for spec in configured]
    seen: set[str] = set()
    for check in checks:
        if not NAME_PATTERN.match(check.name or ""):
            raise ConfigurationError(f"health check name {check.name!r} is not URL-safe")
        if check.name in seen:
            raise ConfigurationError(f"two health checks are named {check.name!r}")
        seen.add(check.name)
    return checks


def check_names() -> list[str]:
    return [check.name for check in get_checks()]
