"""Verified copies of every backup to second storages (NZILA_OPS['COPY_STORAGES']).

``copy_backup`` copies one backup from BACKUP_STORAGE to one target over the storage contract
alone (``open_reader`` on the source, ``open_writer`` on the target), so it works between any two
backends: streamed in COPY_CHUNK_SIZE pieces (constant memory; the target's writer uploads in
the background while the next piece is read), SHA-256 and size computed on the way and compared
with the manifest's before the target's writer commits (otherwise it is aborted: nothing is
listed on the target), then the manifest written last, with the primary's content.
``copy_missing`` catches up whatever a target lacks, judged by the target's own manifests (the
truth), not by the catalog.

Incidents: a copy failing past its retries sends ``backup_failed`` with the component
``copy:<alias>``, not ``backup:<alias>``: the next successful backup must not resolve it while the
copies still fail, and a copy succeeding must not resolve a real backup failure. Its recovery
(``backup_succeeded``, same component) is sent once no reported copy of that alias is still
missing from its target (docs/incidents.md).
"""

from __future__ import annotations

import copy
import hashlib
import logging
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

# The catalog side (targets, failure and recovery events, status) lives in copy_catalog.py;
# its names are re-exported here, where callers have always found them.
from nzila_ops.backups.copy_catalog import (
    catalog_write,
    copy_targets,
    report_copy_failure,
    report_recovery,
)
from nzila_ops.backups.copy_catalog import (
    copy_status as copy_status,
)
from nzila_ops.backups.copy_lock import CopyLock
from nzila_ops.backups.manifest import (
    find_manifest,
    manifest_key,
    write_manifest,
)
from nzila_ops.backups.storages import BackupStorage, get_storage
from nzila_ops.backups.streams import CHUNK_SIZE
from nzila_ops.conf import get_config
from nzila_ops.events import copy_component as copy_component  # re-exported
from nzila_ops.exceptions import (
    BackupError,
    ConfigurationError,
    InvalidArgument,
    ObjectLocked,
    OpsError,
    StorageError,
    VerificationFailed,
    describe,
)
from nzila_ops.models import BackupCopy, BackupRecord

logger = logging.getLogger("nzila_ops.backups")

#: A copy in progress refreshes its row this often; a "copying" row older than STALE_AFTER
#: belongs to a worker that died, and another run may take the copy over.
HEARTBEAT_SECONDS = 30
STALE_AFTER = timedelta(minutes=10)
#: Faults a retry cannot mend: the source does not match its manifest, a wrong setting or name.
NOT_RETRIED = (VerificationFailed, ConfigurationError, InvalidArgument)
#: Bytes a copy reads, hashes and hands to the target's writer at a time, unless the writer
#: prefers another size (an S3 target: one part of its part_size_mb, uploaded as it is).
#: Fewer, larger steps cost this process less CPU, which moto's server (and a busy worker)
#: shares; a thread reading ahead in 1 MiB pieces did not help (bench/bench_copy.py,
#: docs/backups.md).
COPY_CHUNK_SIZE = 8 << 20


class CopyFailed(BackupError):
    """A copy failed; the message names the backup and the target, ``reason`` is the cause and
    ``retryable`` whether trying again may help."""

    def __init__(self, name: str, storage: str, reason: str, *, retryable: bool) -> None:
        super().__init__(f"the copy of backup {name} to storage {storage!r} failed: {reason}")
        self.reason = reason
        self.retryable = retryable


@dataclass
class CopyOutcome:
    """What happened to one backup on one target: ``copied``, ``present`` (already there),
    ``busy`` (another worker is copying it), ``failed`` or, in a dry run, ``would copy``."""

    backup: str
    storage: str
    result: str
    stored_size: int | None = None
    sha256: str = ""
    seconds: float = 0.0
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _claim(name: str, storage: str) -> tuple[BackupCopy | None, bool]:
    """The BackupCopy row of this copy, switched to 'copying' (compare-and-update: two workers
    given the same copy cannot both run it), and whether this run got it. No row when the
    catalog has no record of the backup (a host whose database was restored): the copy runs,
    guarded by its advisory lock alone (copy_lock.py; none on a SQLite catalog)."""
    backup = BackupRecord.objects.filter(name=name).first()
    if backup is None:
        return None, True
    row, _ = BackupCopy.objects.get_or_create(backup=backup, storage_name=storage)
    now = timezone.now()
    claimed = (
        BackupCopy.objects.filter(pk=row.pk)
        .filter(~Q(status=BackupCopy.Status.COPYING) | Q(updated_at__lt=now - STALE_AFTER))
        .update(status=BackupCopy.Status.COPYING, attempts=F("attempts") + 1, updated_at=now)
    )
    row.refresh_from_db()
    return row, bool(claimed)


def _finish(row: BackupCopy | None, **fields: Any) -> None:
    """Record the outcome on the row this run claimed, compare-and-update: a worker whose copy
    was taken over (no heartbeat for STALE_AFTER, then another claim) leaves the row alone."""
    if row is None:
        return
    claimed = BackupCopy.objects.filter(
        pk=row.pk, status=BackupCopy.Status.COPYING, attempts=row.attempts
    )
    updated = catalog_write(
        f"the copy of {row.backup_id}",
        lambda: claimed.update(**fields, updated_at=timezone.now()),
        1,
    )
    if not updated:
        logger.warning(
            "copy of %s to %s: taken over by another worker, whose row is left as it is",
            row.backup_id, row.storage_name,
        )  # fmt: skip


def _present(target: BackupStorage, manifest: dict[str, Any]) -> str | None:
    """The SHA-256 of the target's copy if the target already holds this backup whole: its
    manifest (written last), an object of the manifest's size, and that object's bytes read and
    hashed here. None otherwise (it is copied again). The full read is paid only by a backup
    found on the target without a row saying we copied it, and it keeps 'succeeded' meaning
    one thing: bytes this app read and checked against the manifest."""
    obj = manifest["object"]
    key = manifest_key(manifest["database_alias"], manifest["name"])
    if not (target.exists(key) and target.exists(obj["key"])):
        return None
    if target.size(obj["key"]) != obj["stored_size"]:
        return None
    try:
        # The version the target's own manifest names, when the target keeps versions.
        version = find_manifest(target, manifest["name"])["object"].get("version_id")
    except (OpsError, KeyError, TypeError):
        return None
    reader = target.open_reader(obj["key"], version) if version else target.open_reader(obj["key"])
    try:
        digest = hashlib.sha256()
        while chunk := reader.read(CHUNK_SIZE):
            digest.update(chunk)
    finally:
        reader.close()
    return digest.hexdigest() if digest.hexdigest() == obj["sha256"] else None


def _stream(
    source: BackupStorage,
    target: BackupStorage,
    manifest: dict[str, Any],
    heartbeat: Callable[[], None],
) -> tuple[int, str, str | None]:
    """Copy the object; commit it on the target only if its size and SHA-256 are the
    manifest's. Returns (size, sha256, the target's version id of it, if it keeps versions)."""
    obj = manifest["object"]
    writer = target.open_writer(obj["key"])
    try:
        # The version the manifest names (a locked one), even if the key was overwritten since.
        version = obj.get("version_id")
        reader = (
            source.open_reader(obj["key"], version) if version else source.open_reader(obj["key"])
        )
        try:
            digest, count = hashlib.sha256(), 0
            piece = writer.preferred_write_size or COPY_CHUNK_SIZE
            while chunk := reader.read(piece):
                digest.update(chunk)
                count += len(chunk)
                writer.write(chunk)
                heartbeat()
        finally:
            reader.close()
        sha256 = digest.hexdigest()
        if (count, sha256) != (obj["stored_size"], obj["sha256"]):
            raise VerificationFailed(
                f"backup {manifest['name']} in storage {source.name!r} does not match its "
                f"manifest ({count} bytes, sha256 {sha256[:16]}…; the manifest says "
                f"{obj['stored_size']} bytes, sha256 {obj['sha256'][:16]}…), so it was not "
                f"copied; run `manage.py verify_backup {manifest['name']}`"
            )
        writer.commit()
    except BaseException:
        # The object never becomes visible on the target (S3: the multipart upload is aborted).
        with suppress(Exception):
            writer.abort()
        raise
    return count, sha256, writer.version_id


def _write_manifest_last(
    target: BackupStorage, manifest: dict[str, Any], version_id: str | None
) -> None:
    """The primary's manifest, naming the target's own version of the object (if any)."""
    manifest = copy.deepcopy(manifest)
    manifest["object"].pop("version_id", None)
    if version_id:
        manifest["object"]["version_id"] = version_id
    try:
        write_manifest(target, manifest)
    except BaseException as exc:
        # An object without a manifest is never listed; removing it saves the space.
        left = _remove_unlisted(target, manifest["object"]["key"])
        if left and isinstance(exc, Exception) and not isinstance(exc, NOT_RETRIED):
            transient = getattr(exc, "transient", False)
            raise StorageError(f"{describe(exc)}; {left}", transient=transient) from exc
        raise


def _remove_unlisted(target: BackupStorage, key: str) -> str:
    """Delete the copied object whose manifest could not be written. '' when it is gone (or
    could not be deleted for another reason, logged); what stays when a lock keeps it."""
    try:
        target.delete(key)
    except ObjectLocked as locked:
        until = f"{locked.until:%Y-%m-%d %H:%M} UTC" if locked.until else "a date S3 did not give"
        left = (
            f"the copied object {key} stays in storage {target.name!r}, locked until {until}: "
            "it cannot be deleted (no manifest lists it; docs/backups.md)"
        )
        logger.warning("copy to %s failed before its manifest: %s", target.name, left)
        return left
    except Exception as exc:
        logger.warning("could not remove partial copy %s from %s: %s", key, target.name, exc)
    return ""


def _heartbeat(row: BackupCopy | None) -> Callable[[], None]:
    last = time.monotonic()

    def beat() -> None:
        nonlocal last
        if row is None or time.monotonic() - last < HEARTBEAT_SECONDS:
            return
        last = time.monotonic()
        catalog_write(
            "a heartbeat",
            lambda: BackupCopy.objects.filter(pk=row.pk).update(updated_at=timezone.now()),
        )

    return beat


def copy_backup(
    name: str,
    storage: str,
    source: BackupStorage | None = None,
    target: BackupStorage | None = None,
) -> CopyOutcome:
    """Copy backup ``name`` from BACKUP_STORAGE to the copy target ``storage``, verified.

    Returns the outcome (``copied``, ``present`` or ``busy``). Raises CopyFailed (one line
    naming the target) when the copy fails: its BackupCopy row is marked failed with the reason
    and nothing is listed on the target. A wrong name or target raises before anything.
    ``source`` and ``target``: those storages, already made (copy_missing copies many backups
    with one of each: each S3 storage still resolves its own credentials and client)."""
    started = time.monotonic()
    copy_targets(storage)
    source = source or get_storage()
    target = target or get_storage(storage)
    manifest = find_manifest(source, name)
    lock = CopyLock(name, storage)
    # The catalog unreachable: the copy runs (storage is the truth), as with no row below.
    if not catalog_write("the copy's lock", lock.acquire, True):
        lock.release()
        return CopyOutcome(name, storage, "busy")
    try:
        return _copy_claimed(name, storage, source, target, manifest, started)
    finally:
        lock.release()


def _copy_claimed(
    name: str,
    storage: str,
    source: BackupStorage,
    target: BackupStorage,
    manifest: dict[str, Any],
    started: float,
) -> CopyOutcome:
    """copy_backup's work, under the copy's lock: claim the row, copy, record the outcome."""
    row, claimed = catalog_write("the copy's start", lambda: _claim(name, storage), (None, True))
    if not claimed:
        return CopyOutcome(name, storage, "busy")
    obj = manifest["object"]
    try:
        if held := _present(target, manifest):
            result, size, sha256 = "present", obj["stored_size"], held
        else:
            size, sha256, version_id = _stream(source, target, manifest, _heartbeat(row))
            _write_manifest_last(target, manifest, version_id)
            result = "copied"
    except BaseException as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else describe(exc)
        logger.error("copy of %s to %s failed: %s", name, storage, reason)
        _finish(row, status=BackupCopy.Status.FAILED, error=reason)
        if not isinstance(exc, Exception):
            raise
        retryable = not isinstance(exc, NOT_RETRIED)
        raise CopyFailed(name, storage, reason, retryable=retryable) from exc
    now = timezone.now()
    _finish(
        row, status=BackupCopy.Status.SUCCEEDED, sha256=sha256, stored_size=size, copied_at=now,
        error="",
    )  # fmt: skip
    logger.info("backup %s %s in storage %s", name, result, storage)
    catalog_write("the recovery", lambda: report_recovery(manifest["database_alias"], now))
    return CopyOutcome(name, storage, result, size, sha256, round(time.monotonic() - started, 3))


def retry_delay(exc: BaseException, retries: int) -> float | None:
    """Seconds before the next try of a copy that failed ``retries + 1`` times, or None when it
    is not tried again (a fault a retry cannot mend, or COPY_TASK_RETRIES used up)."""
    config = get_config()
    retryable = getattr(exc, "retryable", not isinstance(exc, NOT_RETRIED))
    if not retryable or retries >= config["COPY_TASK_RETRIES"]:
        return None
    return float(min(3600, config["COPY_RETRY_SECONDS"] * 2**retries))


def enqueue_copies(name: str) -> list[str]:
    """Queue the copy of the backup that just landed to every copy target, once the current
    transaction commits (a worker must find its record). Returns the targets."""
    targets = copy_targets()
    if not targets:
        return []
    backup = catalog_write(
        "the pending copies", lambda: BackupRecord.objects.filter(name=name).first()
    )
    for storage in targets if backup is not None else []:
        catalog_write(
            "a pending copy",
            lambda storage=storage: BackupCopy.objects.get_or_create(
                backup=backup, storage_name=storage
            ),
        )

    def send() -> None:
        from nzila_ops.tasks import copy_backup_task

        for storage in targets:
            try:
                copy_backup_task.delay(name, storage)
            except Exception as exc:  # the broker is down: the backup itself is fine
                reason = (
                    f"its copy task could not be queued ({describe(exc)}); the copy catch-up "
                    "(COPY_CATCH_UP_CRON) or `manage.py copy_backups` makes it"
                )
                logger.error("backup %s: copy to %s: %s", name, storage, reason)
                # Loud at once (an incident), not only when the catch-up runs.
                catalog_write(
                    "the failure",
                    lambda storage=storage, reason=reason: report_copy_failure(
                        name, storage, reason, 0
                    ),
                )

    transaction.on_commit(send)
    return targets
