"""Dump engines: one per database vendor, chosen by dotted path (NZILA_OPS['DUMP_ENGINES'])."""

from __future__ import annotations

from typing import Any

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


def backend_for_vendor(alias: str, setting: str) -> Any:
    """The class named in NZILA_OPS[setting] for the vendor of database ``alias``."""
    check_alias(alias)
    vendor = connections[alias].vendor
    backends = get_config()[setting]
    if vendor not in backends:
        raise ConfigurationError(
            f"database {alias!r} is {vendor}, which has no entry in NZILA_OPS[{setting!r}]"
        )
    try:
        return import_string(backends[vendor])
    except ImportError as exc:
        raise ConfigurationError(f"cannot import {backends[vendor]}: {exc}") from None


def get_dump_engine(alias: str) -> DumpEngine:
    engine_class = backend_for_vendor(alias, "DUMP_ENGINES")
    return engine_class(alias, dict(connections[alias].settings_dict), get_config())
