"""Dump engines: one per database vendor, chosen by dotted path (NZILA_OPS['DUMP_ENGINES'])."""

from __future__ import annotations

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

from nzila_ops.backups.engines.base import DumpEngine, DumpResult, TableCount
from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError, InvalidArgument

__all__ = ["DumpEngine", "DumpResult", "TableCount", "check_alias", "get_dump_engine"]


def check_alias(alias: str) -> str:
    if alias not in settings.DATABASES:
        known = ", ".join(sorted(settings.DATABASES))
        raise InvalidArgument(f"unknown database alias {alias!r} (configured: {known})")
    return alias


def get_dump_engine(alias: str) -> DumpEngine:
    check_alias(alias)
    vendor = connections[alias].vendor
    engines = get_config()["DUMP_ENGINES"]
    if vendor not in engines:
        raise ConfigurationError(
            f"database {alias!r} is {vendor}, which has no dump engine in NZILA_OPS['DUMP_ENGINES']"
        )
    try:
        engine_class = import_string(engines[vendor])
    except ImportError as exc:
        raise ConfigurationError(f"cannot import dump engine {engines[vendor]}: {exc}") from None
    return engine_class(alias, dict(connections[alias].settings_dict), get_config())
