"""Restorers: load a verified raw dump into a fresh database, verify it, swap it in."""

from __future__ import annotations

from django.db import connections

from nzila_ops.backups.engines import backend_for_vendor
from nzila_ops.backups.restorers.base import Restorer
from nzila_ops.conf import get_config

__all__ = ["Restorer", "get_restorer"]


def get_restorer(alias: str) -> Restorer:
    restorer_class = backend_for_vendor(alias, "RESTORERS")
    return restorer_class(alias, dict(connections[alias].settings_dict), get_config())
