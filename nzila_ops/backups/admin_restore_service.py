"""Restores asked for from the admin's restore page: what will happen, the one-at-a-time
claim, the Celery task's work and the audit.

Every admin restore is audited: the RestoreRecord row (and its history document in storage)
holds who (``admin:<username>``), when, from which address (REMOTE_ADDR) and the outcome, and
one WARNING line goes to the ``nzila_ops`` logger when it is asked for, refused, and finished.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError
from django.utils import timezone
from django.utils.connection import ConnectionDoesNotExist

from nzila_ops.backups import restore_progress as progress_store
from nzila_ops.backups.catalog import check_storage_name, storage_named
from nzila_ops.backups.history import record_run
from nzila_ops.backups.manifest import check_backup_database, resolve_backup
from nzila_ops.backups.restorers import get_restorer
from nzila_ops.exceptions import OpsError, describe

# The restore itself (nzila_ops.backups.restore, unpack: age, zstd) is imported by the functions
# that restore: the admin autodiscovers this module in every manage.py command, and a backup
# should not pay for loading the restore at start-up (issue 16).

logger = logging.getLogger("nzila_ops.restore_admin")


class RestoreRefused(OpsError):
    """The restore was not started: nothing was queued and nothing changed."""


@dataclass
class AdminRestorePlan:
    """What a restore of one catalogued backup will do, shown before it is confirmed."""

    backup: str
    database: str
    storage: str
    #: Storages that hold the backup: the primary, then each copy that succeeded.
    storages: list[str] = field(default_factory=list)
    live_name: str = ""
    text: str = ""
    kept_as: str | None = None
    #: Why it cannot be restored ("" when it can).
    problem: str = ""


def storages_holding(record: Any) -> list[str]:
    """The primary storage, then every copy target the backup was copied to."""
    copies = record.copies.filter(status="succeeded").order_by("storage_name")
    names = [check_storage_name(None)]
    return names + [c.storage_name for c in copies if c.storage_name not in names]


def check_restorable(database: str, backup: str, storage: str) -> tuple[Any, Any, Any]:
    """The checks restore_database makes before changing anything: (restorer, source storage,
    manifest), or OpsError (ConnectionDoesNotExist for an alias this host does not have)."""
    from nzila_ops.backups.unpack import identities_for

    restorer = get_restorer(database)
    source = storage_named(storage)
    manifest = resolve_backup(source, database, backup, False)
    check_backup_database(manifest, database, None)
    restorer.check_compatible(manifest)
    identities_for(manifest)  # a missing or wrong key shows here, before the form
    return restorer, source, manifest


def plan_admin_restore(record: Any, storage: str | None = None) -> AdminRestorePlan:
    """What restoring ``record`` from ``storage`` (None: the primary) will do, and the
    problem that prevents it if any. Reads the backup's manifest from that storage."""
    from nzila_ops.backups.restore import kept_as, restore_plan

    plan = AdminRestorePlan(
        backup=record.name, database=record.database_alias, storage=storage or ""
    )
    try:
        plan.storages = storages_holding(record)
        plan.storage = check_storage_name(storage)
        if not record.is_restorable:
            state = "deleted by retention" if record.deleted_at else record.status
            raise RestoreRefused(f"backup {record.name} cannot be restored: it is {state}")
        restorer = get_restorer(record.database_alias)
        plan.live_name = restorer.live_name
        restorer, source, manifest = check_restorable(plan.database, plan.backup, plan.storage)
        plan.text = restore_plan(manifest, restorer, None, source)
        plan.kept_as = kept_as(restorer)
    except (OpsError, ConnectionDoesNotExist, DatabaseError) as exc:
        plan.problem = describe(exc)
    return plan


def start_admin_restore(plan: AdminRestorePlan, username: str, address: str | None) -> str:
    """Claim the database and queue the restore task; the request id of its progress.

    RestoreRefused (nothing queued, nothing changed) when the plan has a problem or another
    restore of the database is running."""
    if plan.problem:
        refuse(plan, username, address, plan.problem)
    request_id = progress_store.new_request_id()
    holder = progress_store.claim_restore(plan.database, request_id)
    if holder is not None:
        refuse(
            plan,
            username,
            address,
            f"a restore of database {plan.database!r} is already running: wait for it to "
            "finish (one restore of a database at a time)",
        )
    progress_store.new_progress(
        request_id,
        database=plan.database,
        live_name=plan.live_name,
        backup=plan.backup,
        storage=plan.storage,
        started_by=f"admin:{username}",
        requested_at=timezone.now().isoformat(),
    )
    audit(
        plan.backup, plan.database, f"asked for by {username}", address, "(request %s)", request_id
    )
    from nzila_ops.tasks import restore_backup_task

    try:
        restore_backup_task.delay(
            request_id, plan.database, plan.backup, plan.storage, username, address
        )
    except Exception as exc:  # the broker is down: say so, and free the database
        progress_store.release_claim(plan.database, request_id)
        reason = f"the restore could not be queued (is the Celery broker up?): {describe(exc)}"
        state = progress_store.read_progress(request_id)
        if state is not None:
            progress_store.CacheProgress(state).failed(reason)
        refuse(plan, username, address, reason)
    return request_id


def refuse(plan: AdminRestorePlan, username: str, address: str | None, reason: str) -> Any:
    """Log a refused attempt and raise RestoreRefused."""
    log_refused(plan.backup, plan.database, username, address, reason)
    raise RestoreRefused(reason)


def log_refused(
    backup: str, database: str, username: str, address: str | None, reason: str
) -> None:
    """One WARNING line for a refused attempt (a wrong word, a second restore).

    A refusal on the page is not a RestoreRecord (nothing ran): this line is its audit, so
    it carries everything itself, whatever the host's log format: who, from where, which
    backup and database, when (UTC), and why."""
    now = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    audit(backup, database, f"by {username}", address, "refused at %s: %s", now, reason)


def audit(backup: str, database: str, by: str, address: str | None, what: str, *args: Any) -> None:
    """One WARNING line per step of an admin restore (asked for, refused, failed, restored),
    all starting alike so that one search finds a restore's story: "admin restore of backup
    <name> into database '<alias>' by <user> from <address> <what>"."""
    logger.warning(
        "admin restore of backup %s into database %r %s from %s " + what,
        backup,
        database,
        by,
        address or "an unknown address",
        *args,
    )


def run_admin_restore(
    request_id: str,
    database: str,
    backup: str,
    storage: str,
    username: str,
    requested_from: str | None,
) -> dict[str, Any]:
    """The task's work: restore_database with its progress in the cache, under the claim."""
    from nzila_ops.backups.restore import restore_database

    started_by = f"admin:{username}"
    holder = None
    if progress_store.running_restore(database) != request_id:
        # The claim taken when it was queued expired (a long queue): take it again, unless
        # another restore of the database has started meanwhile.
        holder = progress_store.claim_restore(database, request_id)
    state = progress_store.read_progress(request_id) or progress_store.new_progress(
        request_id, database=database, backup=backup, storage=storage, started_by=started_by
    )
    progress = progress_store.CacheProgress(state)
    if holder is not None:
        # Accepted on the page (the operator saw its progress page), refused here: audited
        # like any refusal the worker makes (docs/backups.md, "Audit").
        reason = f"another restore of database {database!r} started while this one was queued"
        progress.failed(reason)
        _record_refused(database, backup, storage, started_by, requested_from, reason)
        log_refused(backup, database, username, requested_from, reason)
        raise RestoreRefused(reason)
    with progress_store.claim_heartbeat(database, request_id, progress=progress):
        progress.start()
        try:
            try:
                check_restorable(database, backup, storage)
            except (OpsError, ConnectionDoesNotExist, DatabaseError) as exc:
                # Storage unreachable, or the key gone, since the page was shown: refused
                # before anything began, which restore_database would not record.
                _record_refused(
                    database, backup, storage, started_by, requested_from, describe(exc)
                )
                raise
            outcome = restore_database(
                database=database,
                backup=backup,
                storage=storage,
                started_by=started_by,
                progress=progress,
                requested_from=requested_from,
            )
        except BaseException as exc:
            reason = describe(exc)
            progress.failed(reason)
            audit(backup, database, f"by {username}", requested_from, "failed: %s", reason)
            raise
        # Before the claim is released: a page that finds neither the claim nor an outcome
        # takes the restore for lost.
        progress.succeeded(outcome.previous_database or "", outcome.target)
        audit(
            backup,
            database,
            f"by {username}",
            requested_from,
            "restored; the previous database is kept as %s",
            outcome.previous_database or "(none: there was no database to keep)",
        )
    return outcome.as_dict()


def _record_refused(
    database: str,
    backup: str,
    storage: str,
    started_by: str,
    requested_from: str | None,
    reason: str,
) -> None:
    """Audit a restore the worker refused before it began: its row, and its history document
    in the storage it was asked from (as restore_database keeps its own): when restoring from
    a copy the primary may be the storage that is down."""
    from nzila_ops.backups.restore import restore_history_fields

    now = timezone.now()
    fields = restore_history_fields(
        backup=backup,
        database=database,
        storage=storage,
        started_by=started_by,
        requested_from=requested_from,
        started_at=now,
        finished_at=now,
        result="failed",
        error=reason,
    )
    try:
        source = storage_named(storage)
    except OpsError:
        source = None  # an unknown name, or a storage that cannot be built: the row only
    record_run("restore", fields, source)
