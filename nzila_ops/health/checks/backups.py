from __future__ import annotations

from django.utils import timezone

from nzila_ops.conf import get_config
from nzila_ops.health.base import Check, Warn


class BackupStorageCheck(Check):
    """The backup storage is reachable and writable (option ``storage``: its name)."""

    name = "backup_storage"

    def check(self) -> str | None:
        from nzila_ops.backups.storages import get_storage

        get_storage(self.options.get("storage")).check()
        return None


class BackupFreshnessCheck(Check):
    """The newest successful backup of a database (option ``alias``) is within the RPO target;
    a warning past the target, failing past target + grace."""

    name = "backup_freshness"

    def check(self) -> str | None:
        from nzila_ops.models import BackupRecord

        alias = self.options.get("alias", "default")
        config = get_config()
        newest = (
            BackupRecord.objects.filter(database_alias=alias, status="succeeded", deleted_at=None)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if newest is None:
            raise RuntimeError(f"no successful backup of {alias!r}")
        age = (timezone.now() - newest).total_seconds()
        if age > config["RPO_TARGET_SECONDS"] + config["RPO_GRACE_SECONDS"]:
            raise RuntimeError(f"newest backup of {alias!r} is {age / 60:.0f} min old")
        if age > config["RPO_TARGET_SECONDS"]:
            raise Warn(f"newest backup of {alias!r} is {age / 60:.0f} min old")
        return f"newest backup {age / 60:.0f} min old"
