from __future__ import annotations

from django.utils import timezone

from nzila_ops.conf import get_config
from nzila_ops.health.base import Check, Warn


class BackupStorageCheck(Check):
    """The backup storage is reachable and writable (option ``storage``: its name)."""

    name = "backup_storage"
    _storage = None

    def check(self) -> str | None:
        from nzila_ops.backups.storages import get_storage

        # Built once per check: an S3 storage's client is a boto3 session, costly to make at
        # every poll. Checks are rebuilt when the settings change.
        if self._storage is None:
            self._storage = get_storage(self.options.get("storage"))
        self._storage.check()
        return None


class BackupFreshnessCheck(Check):
    """The newest successful backup of a database (option ``alias``) is within the RPO target;
    a warning past the target, failing past target + grace."""

    name = "backup_freshness"

    def check(self) -> str | None:
        from nzila_ops.backups.catalog import (
            configured_location,
            newest_good_backup,
            rpo_limit_seconds,
        )

        alias = self.options.get("alias", "default")
        config = get_config()
        location = configured_location()
        newest = newest_good_backup(alias, location)
        if newest is None:
            raise RuntimeError(f"no successful backup of {alias!r} in {location}")
        age = (timezone.now() - newest.finished_at).total_seconds()
        if age > rpo_limit_seconds(config):
            raise RuntimeError(f"newest backup of {alias!r} is {age / 60:.0f} min old")
        if age > config["RPO_TARGET_SECONDS"]:
            raise Warn(f"newest backup of {alias!r} is {age / 60:.0f} min old")
        return f"newest backup {age / 60:.0f} min old"
