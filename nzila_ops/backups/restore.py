"""``restore_database``: get a database back from backup storage alone, without ever making
things worse.

1. fetch — stream the object from storage, verifying SHA-256, age authentication and the
   compression checksum, into a local scratch file. Nothing but a fresh scratch database has
   been changed yet (PostgreSQL creates the schema there meanwhile: restorers/pg_stream.py).
2. restore — load it into that scratch database (PostgreSQL: pg_restore -j; SQLite: a file),
   only once the whole object has been verified.
3. verify — every table of the manifest exists with exactly its row count; sequences are at
   least their recorded values.
4. swap — the live database is renamed to ``<name>_pre_restore_<time>`` (kept) and the scratch
   database takes its name. The kept database's incidents are carried into the restored one
   (nzila_ops.incidents.carry): they are not data to go back in time with the backup.

A failure in phases 1-3 leaves the live database untouched and removes the scratch database;
a failure in the swap puts the names back. Only the manifests in storage are needed: the live
database may be dropped, empty or never migrated.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connections
from django.utils import timezone
from pyrage import x25519

from nzila_ops import signals
from nzila_ops.backups.catalog import check_storage_name, storage_named, sync_catalog
from nzila_ops.backups.history import record_run, sync_history
from nzila_ops.backups.manifest import check_backup_database, resolve_backup
from nzila_ops.backups.restorers import Restorer, get_restorer
from nzila_ops.backups.restorers.base import PRE_RESTORE_MARK
from nzila_ops.backups.storages import BackupStorage, get_storage
from nzila_ops.backups.unpack import identities_for, unpack_backup
from nzila_ops.backups.workdir import work_directory
from nzila_ops.events import restore_component
from nzila_ops.exceptions import InvalidArgument, OpsError, RestoreError, StorageError, describe
from nzila_ops.formats import local_time
from nzila_ops.progress import NULL_PROGRESS, Progress

logger = logging.getLogger("nzila_ops.restore")


class RestoreAborted(OpsError):
    """The operator did not confirm."""


@dataclass
class RestoreOutcome:
    backup_name: str
    database: str
    target: str
    previous_database: str | None
    swapped: bool
    started_at: str
    finished_at: str = ""
    phase_seconds: dict[str, float] = field(default_factory=dict)
    #: Where the time went (docs/backups.md): the fetch's stages by busy time (download, hash,
    #: decrypt, decompress, write; they overlap), then the restore, verify and swap phases.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    verification: dict[str, Any] = field(default_factory=dict)
    leftovers_removed: list[str] = field(default_factory=list)
    #: The storage (key of NZILA_OPS['STORAGES']) the backup was read from.
    storage: str = ""

    @property
    def total_seconds(self) -> float:
        return round(sum(self.phase_seconds.values()), 3)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_seconds": self.total_seconds}


class PhaseTimer:
    """Times named phases and tells the progress display about each."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.seconds: dict[str, float] = {}
        #: The fetch's own stages (UnpackResult.stage_seconds), once it has finished.
        self.fetch_stages: dict[str, float] = {}

    def stages(self) -> dict[str, float]:
        """The fetch's stages, then every later phase."""
        later = {name: s for name, s in self.seconds.items() if name != "fetch"}
        return {**self.fetch_stages, **later}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.progress.phase(name)
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - started, 3)


def fetch_and_load(
    restorer: Restorer,
    lock: Any,
    storage: BackupStorage,
    manifest: dict[str, Any],
    identities: list[x25519.Identity],
    target: str,
    timer: PhaseTimer,
) -> dict[str, Any]:
    """Phases 1-3 into ``target``. On any failure ``target`` is dropped; returns the
    verification report."""
    with work_directory("restore") as tmp:
        raw = restorer.raw_path(target, tmp)
        try:
            with ExitStack() as stack:
                with timer.phase("fetch"):
                    # Creating the scratch database (and, for PostgreSQL, starting on its
                    # schema) is part of the fetch: it happens beside it.
                    loading = stack.enter_context(
                        closing(restorer.start_loading(lock, raw, target))
                    )
                    unpacked = unpack_backup(storage, manifest, loading, identities, timer.progress)
                # Only now, the whole object verified, may the load complete.
                with timer.phase("restore"):
                    loading.finish()
            timer.fetch_stages = {**unpacked.stage_seconds, **loading.stage_seconds}
            with timer.phase("verify"):
                report = restorer.verify(target, manifest)
                restorer.mark_restored(lock, target, manifest["name"])
                return report
        except BaseException:
            raw.unlink(missing_ok=True)
            restorer.drop(lock, target)
            raise


def restore_database(
    database: str = "default",
    backup: str | None = None,
    latest: bool = False,
    target: str | None = None,
    started_by: str = "",
    progress: Progress = NULL_PROGRESS,
    confirm: Callable[[str], bool] | None = None,
    from_database: str | None = None,
    storage: str | None = None,
    requested_from: str | None = None,
) -> RestoreOutcome:
    """Restore ``backup`` (or the latest backup of ``database``) and swap it in.

    With ``target``, stop after verification, leaving the result in that database. ``confirm``
    is shown what is about to happen and must return True for the restore to go on. A backup
    of another database alias is refused unless ``from_database`` names that alias (with
    ``latest``, the newest backup of ``from_database`` is taken).

    ``storage`` names the storage to restore from (default BACKUP_STORAGE): a copy in another
    region restores with the primary unreachable, chosen from that storage's own manifests.

    ``requested_from``: the client address an admin restore was asked from, kept in the audit
    row (RestoreRecord.requested_from)."""
    restorer = get_restorer(database)
    source = storage_named(storage)  # an unknown name: before anything else
    manifest = resolve_backup(source, from_database or database, backup, latest)
    check_backup_database(manifest, database, from_database)
    restorer.check_compatible(manifest)
    identities = identities_for(manifest)  # a missing or wrong key: before anything else
    if target is not None:
        restorer.check_target(target)
    where = target or restorer.live_name
    if confirm is not None and not confirm(restore_plan(manifest, restorer, target, source)):
        raise RestoreAborted("restore aborted: not confirmed, nothing was changed")

    started_at = timezone.now()
    timer = PhaseTimer(progress)
    outcome = RestoreOutcome(
        backup_name=manifest["name"],
        database=database,
        target=where,
        previous_database=None,
        swapped=False,
        started_at=started_at.isoformat(),
        storage=source.name,
    )
    try:
        connections[database].close()
        with restorer.lock() as lock:
            outcome.leftovers_removed = restorer.clean_leftovers(lock)
            if target is not None and restorer.exists(lock, target):
                raise InvalidArgument(f"target {target!r} already exists: choose a new name")
            scratch = target or restorer.scratch_name(started_at)
            outcome.verification = fetch_and_load(
                restorer, lock, source, manifest, identities, scratch, timer
            )
            if target is None:
                connections.close_all()
                with timer.phase("swap"):
                    try:
                        outcome.previous_database = restorer.swap(lock, scratch, started_at)
                    except BaseException:
                        # swap() put the live database back; the verified copy goes.
                        restorer.drop(lock, scratch)
                        raise
                outcome.swapped = True
                # Under the lock (no other swap meanwhile), and before the restore is announced:
                # its success resolves an incident the restored backup may not know. Never
                # raises.
                from nzila_ops.incidents.carry import carry_incidents

                carry_incidents(database, outcome.previous_database)
    except BaseException as exc:
        outcome.phase_seconds = timer.seconds
        outcome.stage_seconds = timer.stages()
        outcome.finished_at = timezone.now().isoformat()
        reason = describe(exc)
        _record(outcome, started_by, source, False, reason, requested_from)
        logger.error("restore of %s into %s failed: %s", manifest["name"], where, reason)
        if isinstance(exc, OpsError) or not isinstance(exc, Exception):
            raise
        raise RestoreError(f"restore failed: {reason}") from exc
    outcome.phase_seconds = timer.seconds
    outcome.stage_seconds = timer.stages()
    outcome.finished_at = timezone.now().isoformat()
    progress.finish()
    _record(outcome, started_by, source, True, requested_from=requested_from)
    if outcome.swapped:
        _rebuild_catalog(source)
    return outcome


def kept_as(restorer: Restorer) -> str | None:
    """The name the live database will be kept under by a swap (``<name>_pre_restore_<time>``),
    or None when there is no live database to keep."""
    if not restorer.live_exists():
        return None
    return f"{restorer.live_name}{PRE_RESTORE_MARK}<time>"


def restore_plan(
    manifest: dict[str, Any], restorer: Restorer, target: str | None, source: BackupStorage
) -> str:
    """What the operator confirms (the command's prompt, the admin's restore page): which
    backup, from where, where to, and what happens to what is there."""
    what = (
        f"Restore backup {manifest['name']} of database {manifest['database_alias']!r} "
        f"(taken {_taken_at(manifest['finished_at'])})"
    )
    if source.name != check_storage_name(None):
        what += f" from storage {source.name!r} ({source.describe()})"
    live = restorer.live_name
    if target is not None:
        return f"{what} into the new database {target}; {live} is not touched"
    kept = kept_as(restorer)
    if kept is not None:
        return f"{what} into {live}, replacing it (the current {live} is kept as {kept})"
    return f"{what} into {live}: {live} does not exist, it will be created (nothing to keep)"


def _taken_at(finished_at: object) -> str:
    # The manifest's ISO 8601 instant, as the admin shows times: the site's zone, named.
    try:
        return local_time(datetime.fromisoformat(str(finished_at)))
    except ValueError:
        return str(finished_at)


def restore_history_fields(
    *,
    backup: str,
    database: str,
    storage: str,
    started_by: str,
    requested_from: str | None,
    started_at: Any,
    finished_at: Any,
    result: str,
    error: str = "",
    target: str = "",
    previous_database: str = "",
    phase_seconds: dict[str, float] | None = None,
    verification: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One restore's history record (RestoreRecord's fields, and its document in storage),
    the one shape for every restore: run, failed, or refused before it began."""
    return {
        "backup_name": backup,
        "database_alias": database,
        "target": target,
        "previous_database": previous_database,
        "started_by": started_by or "unknown",
        "requested_from": requested_from,
        "started_at": started_at,
        "finished_at": finished_at,
        "phase_seconds": phase_seconds or {},
        # RestoreRecord has no column for it: the storage read from is kept with the report.
        "verification": {**(verification or {}), "storage": storage},
        "result": result,
        "error": error,
        "host": socket.gethostname(),
    }


def _record(
    outcome: RestoreOutcome,
    started_by: str,
    storage: BackupStorage,
    succeeded: bool,
    error: str = "",
    requested_from: str | None = None,
) -> None:
    """Keep every restore, whatever its outcome and wherever it went, in the history: backup
    storage and the app's database (history.py); best effort."""
    from nzila_ops.models import RestoreRecord

    with suppress(DatabaseError):
        # After the swap the old connection points at the database now kept under a new name.
        connections[outcome.database].close()
    fields = restore_history_fields(
        backup=outcome.backup_name,
        database=outcome.database,
        storage=outcome.storage,
        started_by=started_by,
        requested_from=requested_from,
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
        result=RestoreRecord.Result.SUCCEEDED if succeeded else RestoreRecord.Result.FAILED,
        error=error,
        target=outcome.target,
        previous_database=outcome.previous_database or "",
        phase_seconds=outcome.phase_seconds,
        verification=outcome.verification,
    )
    record = record_run("restore", fields, storage)
    if succeeded and not outcome.swapped:
        return  # a --target copy beside the live database: recorded, nothing to announce
    signals.restore_finished.send(
        sender=RestoreOutcome,
        record=record,
        outcome=outcome,
        component=restore_component(outcome.database),
        succeeded=succeeded,
        reason=error,
        at=timezone.now(),
    )


def _rebuild_catalog(source: BackupStorage) -> None:
    """The restored database knows only what was recorded before its backup was taken: give it
    the backups, restores and drills that storage holds.

    The catalog (BackupRecord) indexes the primary storage, BACKUP_STORAGE, so it is rebuilt
    from the primary's manifests even after a restore from a copy; a primary that cannot be
    read now (the region outage the copy is for) leaves the rows as the backup had them, and
    says so. The history is read from both (this restore's document went to ``source``), from
    the primary only if it answered: an unreachable one costs its retries once, not twice."""
    storages = [source]
    try:
        primary = get_storage()
        sync_catalog(primary)
        if primary.name != source.name:
            storages.insert(0, primary)
    except StorageError as exc:
        logger.warning(
            "backup catalog not rebuilt after restore: the primary storage cannot be read "
            "(its rows stay as the restored backup had them): %s",
            exc,
        )
    except (DatabaseError, OpsError) as exc:
        logger.warning("backup catalog not rebuilt after restore: %s", exc)
    for storage in storages:
        try:
            sync_history(storage)
        except (DatabaseError, OpsError) as exc:
            logger.warning(
                "restore and drill history not rebuilt from storage %r after restore: %s",
                storage.name,
                exc,
            )
