"""Validation of NZILA_OPS["METRICS"] (called by nzila_ops.conf; pure, reads no settings)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from nzila_ops.exceptions import ConfigurationError
from nzila_ops.redis_urls import is_redis_url

BUSINESS_NAME = re.compile(r"[a-z][a-z0-9_]*")
DOTTED_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")


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
    section["BUSINESS"] = _business(section["BUSINESS"])
    for key in ("BUSINESS_TIMEOUT_SECONDS", "BUSINESS_CACHE_SECONDS"):
        value = section[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigurationError(f"NZILA_OPS['METRICS'][{key!r}] must be a number >= 0")
    url = section["REDIS_URL"]
    if url is not None and not is_redis_url(url):
        raise ConfigurationError(
            "NZILA_OPS['METRICS']['REDIS_URL'] must be None or a redis://, rediss:// or unix:// URL"
        )
    ttl = section["CELERY_ACTIVE_TTL_SECONDS"]
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl <= 7 * 86400:
        raise ConfigurationError(
            "NZILA_OPS['METRICS']['CELERY_ACTIVE_TTL_SECONDS'] must be a number from 1 to 604800"
        )


def _business(given: Any) -> dict[str, dict[str, str]]:
    """{name: {"CALLABLE": path, "HELP": text}}; a bare dotted path is the CALLABLE. Names
    become metric names (nzila_business_<name>), hence the pattern. Paths are imported at
    scrape time, not here: a host module may import models, which the settings come before."""
    if not isinstance(given, dict):
        raise ConfigurationError("NZILA_OPS['METRICS']['BUSINESS'] must be a dict")
    result: dict[str, dict[str, str]] = {}
    for name, spec in given.items():
        where = f"NZILA_OPS['METRICS']['BUSINESS'][{name!r}]"
        if not isinstance(name, str) or not BUSINESS_NAME.fullmatch(name):
            raise ConfigurationError(f"{where}: a name must match [a-z][a-z0-9_]* (a metric name)")
        if name == "metric_up":
            raise ConfigurationError(f"{where}: the name is taken by nzila_business_metric_up")
        if isinstance(spec, str):
            spec = {"CALLABLE": spec}
        if not isinstance(spec, dict) or set(spec) - {"CALLABLE", "HELP"}:
            raise ConfigurationError(f"{where} must be a dotted path or {{'CALLABLE', 'HELP'}}")
        path, help_text = spec.get("CALLABLE"), spec.get("HELP")
        if not isinstance(path, str) or not DOTTED_PATH.fullmatch(path):
            raise ConfigurationError(f"{where}: CALLABLE must be a dotted path like 'pkg.mod.fn'")
        if help_text is not None and (not isinstance(help_text, str) or "\0" in help_text):
            raise ConfigurationError(f"{where}: HELP must be text")
        result[name] = {"CALLABLE": path, "HELP": help_text or f"Business metric {name} ({path})."}
    return result
