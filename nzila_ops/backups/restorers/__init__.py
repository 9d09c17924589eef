"""Restorers: load a verified raw dump into a fresh database, verify it, swap it in."""

from __future__ import annotations

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

from nzila_ops.backups.engines import check_alias
from nzila_ops.backups.restorers.base import Restorer, verification_problems
from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError

__all__ = ["Restorer", "get_restorer", "verification_problems"]


def get_restorer(alias: str) -> Restorer:
    check_alias(alias)
    vendor = connections[alias].vendor
    restorers = get_config()["RESTORERS"]
    if vendor not in restorers:
        raise ConfigurationError(
            f"database {alias!r} is {vendor}, which has no restorer in NZILA_OPS['RESTORERS']"
        )
    restorer_class = import_string(restorers[vendor])
    return restorer_class(alias, dict(settings.DATABASES[alias]), get_config())
