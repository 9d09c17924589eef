"""The databases a restore kept (``<name>_pre_restore_<time>``): list, drop, prune by age."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from nzila_ops.backups.restorers import get_restorer
from nzila_ops.conf import get_config
from nzila_ops.exceptions import InvalidArgument


def kept_since(name: str) -> datetime:
    stamp = re.search(r"(\d{14})$", name)
    assert stamp, name  # kept_copies() only returns names that end in the stamp
    return datetime.strptime(stamp.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def list_kept_copies(database: str) -> list[tuple[str, datetime]]:
    restorer = get_restorer(database)
    with restorer.lock() as lock:
        return [(name, kept_since(name)) for name in restorer.kept_copies(lock)]


def drop_kept_copy(database: str, name: str) -> None:
    """Drop one kept database; refuses anything that is not a kept copy of ``database``."""
    restorer = get_restorer(database)
    with restorer.lock() as lock:
        if name not in restorer.kept_copies(lock):
            raise InvalidArgument(f"{name!r} is not a database kept by a restore of {database!r}")
        restorer.drop(lock, name)


def prune_kept_copies(database: str) -> list[str]:
    days = float(get_config()["PRE_RESTORE_KEEP_DAYS"])
    cutoff = timezone.now() - timedelta(days=days)
    restorer = get_restorer(database)
    dropped = []
    with restorer.lock() as lock:
        for name in restorer.kept_copies(lock):
            if kept_since(name) < cutoff:
                restorer.drop(lock, name)
                dropped.append(name)
    return dropped
