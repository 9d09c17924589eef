"""Backup storages, configured by name in NZILA_OPS['STORAGES'] and chosen by dotted path."""

from __future__ import annotations

import re

from django.utils.module_loading import import_string

from nzila_ops.backups.storages.base import BackupStorage, ObjectWriter
from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError

__all__ = ["BackupStorage", "ObjectWriter", "get_storage"]


def get_storage(name: str | None = None) -> BackupStorage:
    """The storage called ``name`` (default: NZILA_OPS['BACKUP_STORAGE'])."""
    config = get_config()
    name = name or config["BACKUP_STORAGE"]
    storages = config["STORAGES"]
    if name not in storages:
        known = ", ".join(sorted(storages)) or "none configured"
        raise ConfigurationError(
            f"no backup storage named {name!r} in NZILA_OPS['STORAGES'] ({known})"
        )
    spec = storages[name]
    try:
        backend = import_string(spec["BACKEND"])
    except ImportError as exc:
        raise ConfigurationError(
            f"backup storage {name!r}: cannot import {spec['BACKEND']}: {exc}"
        ) from None
    try:
        return backend(name=name, **spec["OPTIONS"])
    except (TypeError, ValueError) as exc:
        # An unknown option (a typo in the URL's query) or a value of the wrong shape.
        detail = re.sub(r"^\w+\.__init__\(\) ", "", str(exc))
        raise ConfigurationError(f"backup storage {name!r}: invalid options: {detail}") from None
