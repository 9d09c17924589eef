"""Disaster-recovery drills: prove, on a schedule, that the latest backup restores within the RTO.

A drill restores the latest backup of a database (or a named one) into a scratch database,
verifies it exactly as a real restore does, measures the achieved RTO (start to verified),
drops the scratch database and records a DrillRecord. It fails when anything fails or the RTO
exceeds the target.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Sequence
from datetime import date

from django.utils import timezone

from nzila_ops import signals
from nzila_ops.backups.catalog import check_storage_name
from nzila_ops.backups.history import record_run
from nzila_ops.backups.manifest import check_backup_database, resolve_backup
from nzila_ops.backups.restore import PhaseTimer, fetch_and_load
from nzila_ops.backups.restorers import get_restorer
from nzila_ops.backups.storages import get_storage
from nzila_ops.backups.unpack import identities_for
from nzila_ops.conf import get_config
from nzila_ops.events import drill_component, severity_for
from nzila_ops.exceptions import BackupNotFound, InvalidArgument, describe
from nzila_ops.models import DrillRecord
from nzila_ops.progress import NULL_PROGRESS, Progress

logger = logging.getLogger("nzila_ops.drills")


def storage_for_week(day: date, storages: Sequence[str]) -> str | None:
    """The storage a scheduled drill on ``day`` restores from: DRILL_STORAGES take turns, one
    week each (None when the list is empty: BACKUP_STORAGE).

    Weeks are counted from Monday 0001-01-01, not by ISO week number, so the turn moves on
    every week, across a year's end too (ISO week 53 is followed by week 1: with two storages
    both are odd, and the same storage would be drilled twice in a row)."""
    if not storages:
        return None
    week = (day.toordinal() - 1) // 7
    return storages[week % len(storages)]


def storage_drill_component(database: str, storage_name: str) -> str:
    """The incident component of a drill: ``drill:<alias>`` from BACKUP_STORAGE, and
    ``drill:<alias>@<storage>`` from another. With drills taking turns over storages, a failed
    drill of a copy must stay open until a drill of that copy passes: next week's passing
    drill of the primary must not resolve it, nor the reverse. The kind stays ``drill``, so
    INCIDENT_SEVERITIES and PagerDuty's ``drill:*`` route apply unchanged."""
    component = drill_component(database)
    if storage_name == check_storage_name(None):
        return component
    return f"{component}@{storage_name}"


def run_scheduled_drill(database: str = "default") -> DrillRecord:
    """The drill beat runs (DRILL_CRON): from this week's storage of DRILL_STORAGES."""
    names = get_config()["DRILL_STORAGES"]
    return run_drill(database, storage=storage_for_week(timezone.now().date(), names))


def run_drill(
    database: str = "default",
    progress: Progress = NULL_PROGRESS,
    backup: str | None = None,
    from_database: str | None = None,
    storage: str | None = None,
) -> DrillRecord:
    """Run one drill of ``database`` and return its DrillRecord (passed or failed).

    The latest backup of ``database``, or the one named ``backup``; a backup of another alias
    only with ``from_database`` set to it, as for a restore. Only wrong arguments (a wrong or
    unknown name included) raise; every other failure is a failed drill, recorded and loud.

    ``storage`` names the storage to drill from (default BACKUP_STORAGE), so that a drill
    proves a copy in a second storage restores; the record keeps it as
    ``verification["storage"]``."""
    restorer = get_restorer(database)  # InvalidArgument for an unknown alias
    storage_name = check_storage_name(storage)  # InvalidArgument for an unknown name
    target_seconds = float(get_config()["RTO_TARGET_SECONDS"])
    started_at = timezone.now()
    started = time.monotonic()
    timer = PhaseTimer(progress)
    backup_name = ""
    verification: dict = {}
    error = ""
    rto = None
    source = None
    try:
        source = get_storage(storage_name)
        manifest = resolve_backup(source, from_database or database, backup, backup is None)
        check_backup_database(manifest, database, from_database)
        backup_name = manifest["name"]
        restorer.check_compatible(manifest)
        with restorer.lock() as lock:
            restorer.clean_leftovers(lock)
            scratch = restorer.scratch_name(started_at)
            verification = fetch_and_load(
                restorer, lock, source, manifest, identities_for(manifest), scratch, timer
            )
            rto = round(time.monotonic() - started, 3)
            with timer.phase("cleanup"):
                restorer.drop(lock, scratch)
        if rto > target_seconds:
            error = f"RTO {rto:.0f} s exceeds the target of {target_seconds:.0f} s"
    except InvalidArgument:
        raise
    except BackupNotFound as exc:
        if backup is not None:
            raise  # a name that is not in storage: the operator's slip, not a failed drill
        error = describe(exc)
    except Exception as exc:
        error = describe(exc)
    progress.finish()
    fields = {
        "backup_name": backup_name,
        "database_alias": database,
        "started_at": started_at,
        "finished_at": timezone.now(),
        "phase_seconds": timer.seconds,
        "rto_seconds": rto,
        "rto_target_seconds": target_seconds,
        # DrillRecord has no column for it: the storage drilled is kept with the report.
        "verification": {**verification, "storage": storage_name},
        "result": DrillRecord.Result.FAILED if error else DrillRecord.Result.PASSED,
        "error": error,
        "host": socket.gethostname(),
    }
    # Kept in backup storage too, so that a later restore of the database cannot erase it.
    record = record_run("drill", fields, source)
    if record is None:  # the database refused the row; the caller still gets the outcome
        record = DrillRecord(**fields)
    component = storage_drill_component(database, storage_name)
    if error:
        logger.error("DR drill of %s from storage %r FAILED: %s", database, storage_name, error)
        signals.drill_failed.send(
            sender=DrillRecord,
            record=record,
            component=component,
            severity=severity_for(component),
            # The incident's title and next step name the storage (its component does).
            reason=error,
            at=record.finished_at,
        )
    else:
        logger.info(
            "DR drill of %s passed: RTO %.1f s with %s from storage %r",
            database,
            rto,
            backup_name,
            storage_name,
        )
        signals.drill_passed.send(
            sender=DrillRecord,
            record=record,
            component=component,
            at=record.finished_at,
        )
    return record
