"""Verify a backup and keep the outcome on its catalog row (verified_at, verification_result,
verification_error), whoever asked: the ``verify_backup`` command, the admin's action (through
the ``nzila_ops.verify_backup`` task). The admin's backup list shows it as a badge.

The outcome is recorded on the row of the backup *as held by the storage verified*: a copy
verified in a second storage (``storage_name``) proves the copy, not the catalog's primary
object, so it leaves the row alone.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from nzila_ops.backups.catalog import check_storage_name, storage_named
from nzila_ops.backups.manifest import resolve_backup
from nzila_ops.backups.verify import verify_backup
from nzila_ops.exceptions import InvalidArgument, OpsError, describe
from nzila_ops.models import BackupRecord
from nzila_ops.progress import NULL_PROGRESS, Progress


def verify_and_record(
    name: str | None = None,
    latest: bool = False,
    database: str | None = None,
    progress: Progress = NULL_PROGRESS,
    storage_name: str | None = None,
) -> dict[str, Any]:
    """``verify_backup`` with the same arguments, then the outcome written on the backup's
    row: "passed", or "failed" with the one-line reason (and the error raised again, so the
    caller still fails loudly). A wrong name or argument changes nothing."""
    storage = check_storage_name(storage_name)  # InvalidArgument for an unknown name
    if name is None:
        # --latest: which backup is known before verifying, so a failure is recorded on it.
        name = resolve_backup(storage_named(storage), database, None, latest)["name"]
    try:
        report = verify_backup(name=name, progress=progress, storage_name=storage)
    except InvalidArgument:
        raise  # the operator's slip, not the backup's fault
    except OpsError as exc:
        record_verification(name, storage, "failed", describe(exc))
        raise
    record_verification(name, storage, "passed", "")
    return report


def record_verification(name: str, storage: str, result: str, error: str) -> int:
    """Write one verification outcome on the catalog row of ``name`` in ``storage``; the
    number of rows written (0 when the catalog has no such row, e.g. before sync_catalog)."""
    return BackupRecord.objects.filter(name=name, storage_name=storage).update(
        verified_at=timezone.now(), verification_result=result, verification_error=error[:2000]
    )
