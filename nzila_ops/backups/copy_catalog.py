"""The catalog side of copies (NZILA_OPS['COPY_STORAGES']): the targets, catalog writes that
must not cost a copy, the failure and recovery events of ``copy:<alias>``, and copy status.

Split from copies.py (which re-exports these names) so that the copying itself stays one room.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.utils import timezone

from nzila_ops import signals
from nzila_ops.backups.manifest import alias_of
from nzila_ops.conf import get_config
from nzila_ops.events import copy_component, severity_for
from nzila_ops.exceptions import InvalidArgument
from nzila_ops.models import BackupCopy, BackupRecord

logger = logging.getLogger("nzila_ops.backups")


def copy_targets(storage: str | None = None) -> list[str]:
    """The copy targets to work on: ``storage`` (which must be one of COPY_STORAGES), or all."""
    targets: list[str] = get_config()["COPY_STORAGES"]
    if storage is None:
        return list(targets)
    if storage not in targets:
        known = ", ".join(targets) or "empty"
        raise InvalidArgument(
            f"no copy target named {storage!r}: NZILA_OPS['COPY_STORAGES'] is {known}"
        )
    return [storage]


def catalog_write(what: str, step: Callable[[], Any], default: Any = None) -> Any:
    """A catalog write that must not cost the copy: storage is the truth, rows are an index."""
    try:
        return step()
    except DatabaseError as exc:
        logger.warning("copies: the catalog could not record %s: %s", what, exc)
        return default


def report_copy_failure(name: str, storage: str, reason: str, attempts: int) -> None:
    """The failure event of a copy that will not be tried again: an incident (``copy:<alias>``)
    opens, as for a failed backup."""
    component = copy_component(alias_of(name))
    record = catalog_write("the failure", lambda: BackupRecord.objects.filter(name=name).first())
    catalog_write(
        "the failure",
        lambda: BackupCopy.objects.filter(backup__name=name, storage_name=storage).update(
            status=BackupCopy.Status.FAILED,
            failure_reported=True,
            error=reason,
            updated_at=timezone.now(),
        ),
    )
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}" if attempts else "never started"
    signals.backup_failed.send(
        sender=BackupCopy,
        record=record,
        component=component,
        severity=severity_for(component),
        reason=f"the copy of backup {name} to storage {storage!r} failed ({tries}): {reason}",
        at=timezone.now(),
        # The incident names the copy and its next step (copy_backups --storage) from these.
        backup_name=name,
        storage=storage,
    )


def report_recovery(alias: str, at: datetime) -> bool:
    """Send the recovery of ``copy:<alias>`` if a failure of it was reported and no reported
    copy is still missing from its target (backups deleted since are not waited for). Returns
    whether it was sent; clearing the flags is compare-and-update, so it is sent once."""
    reported = BackupCopy.objects.filter(backup__database_alias=alias, failure_reported=True)
    # Pending (queued again) and copying count too: only a copy in place, or deleted by the
    # target's retention, is no longer missing.
    missing = reported.filter(backup__deleted_at=None).exclude(
        status__in=[BackupCopy.Status.SUCCEEDED, BackupCopy.Status.DELETED]
    )
    if missing.exists():
        return False
    if not reported.update(failure_reported=False):
        return False
    record = (
        BackupRecord.objects.filter(database_alias=alias, copies__status="succeeded")
        .order_by("-started_at")
        .first()
    )
    signals.backup_succeeded.send(
        sender=BackupCopy, record=record, component=copy_component(alias), at=at
    )
    return True


def copy_status(names: Iterable[str]) -> dict[str, dict[str, str]]:
    """Backup name -> {target: status} from the catalog (empty when it cannot be read)."""
    rows = BackupCopy.objects.filter(backup__name__in=list(names)).values_list(
        "backup__name", "storage_name", "status"
    )
    status: dict[str, dict[str, str]] = {}
    for backup, storage, state in catalog_write(
        "nothing (reading copy status)", lambda: list(rows), []
    ):
        status.setdefault(backup, {})[storage] = state
    return status
