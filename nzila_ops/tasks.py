"""Celery tasks: thin wrappers over the service functions.

Task names are stable (``nzila_ops.*``): the beat entries written by ``setup_schedules`` and
operators' scripts refer to them.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from nzila_ops.backups.catalog import backups_since
from nzila_ops.backups.drills import run_scheduled_drill
from nzila_ops.backups.retention import enforce_retention_all
from nzila_ops.backups.rpo import watch_rpo
from nzila_ops.backups.service import run_backup
from nzila_ops.conf import get_config
from nzila_ops.exceptions import BackupSkipped, DatabaseUnreachable, OpsError, StorageError
from nzila_ops.notify import Notification, notify

logger = logging.getLogger("nzila_ops.tasks")


# max_retries=None: BACKUP_TASK_RETRIES bounds the retries (Celery's default of 3 would end
# them early: past it, Task.retry raises the error itself).
@shared_task(bind=True, name="nzila_ops.backup_database", max_retries=None)
def backup_database_task(
    self: Any, database: str = "default", backup_type: str = "hourly"
) -> dict[str, Any]:
    """One backup. Overlap ends as 'skipped'; transient storage errors retry with backoff."""
    try:
        record = run_backup(database, backup_type)
    except BackupSkipped as exc:
        return {"status": "skipped", "reason": str(exc)}
    except (StorageError, DatabaseUnreachable) as exc:
        # Network trouble (storage throttling or 5xx, the database server restarting) passes;
        # a missing bucket, denied access or bad settings do not, and are not retried.
        transient = isinstance(exc, DatabaseUnreachable) or exc.transient
        retries = get_config()["BACKUP_TASK_RETRIES"]
        if transient and self.request.retries < retries:
            # 60 s, 120 s, 240 s...: a passing S3 hiccup, not a reason to miss the RPO.
            raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from None
        raise
    return {
        "status": "succeeded",
        "name": record.name,
        "stored_size": record.stored_size,
        "sha256": record.sha256,
    }


# max_retries=None: COPY_TASK_RETRIES bounds the retries (Celery's default of 3 would end them
# early, without the failure event).
@shared_task(bind=True, name="nzila_ops.copy_backup", max_retries=None)
def copy_backup_task(self: Any, name: str, storage: str) -> dict[str, Any]:
    """One backup to one copy target (COPY_STORAGES), verified. A failure is tried again after
    COPY_RETRY_SECONDS, doubled each time (at most an hour), COPY_TASK_RETRIES times; past
    that, or at once for a fault a retry cannot mend (the source does not match its manifest),
    it opens an incident (component copy:<alias>)."""
    from nzila_ops.backups.copies import copy_backup, report_copy_failure, retry_delay

    try:
        return copy_backup(name, storage).as_dict()
    except OpsError as exc:
        delay = retry_delay(exc, self.request.retries)
        if delay is not None:
            raise self.retry(exc=exc, countdown=delay) from None
        report_copy_failure(
            name, storage, getattr(exc, "reason", str(exc)), self.request.retries + 1
        )
        raise


@shared_task(name="nzila_ops.copy_catch_up")
def copy_catch_up_task() -> dict[str, Any]:
    """Copy what each copy target lacks (COPY_CATCH_UP_CRON): a copy whose task was never
    queued or that ran out of retries. Each failure is reported as a copy failure."""
    from nzila_ops.backups.copy_missing import catch_up

    return catch_up()


@shared_task(name="nzila_ops.enforce_retention")
def enforce_retention_task(database: str | None = None) -> dict[str, Any]:
    runs = enforce_retention_all(database)
    primary = get_config()["BACKUP_STORAGE"]
    return {
        # A copy target's runs (COPY_STORAGES) as "<alias> in <storage>".
        run.database + ("" if run.storage == primary else f" in {run.storage}"): {
            "deleted": run.deleted,
            "failed": run.failed,
            "locked": {name: until.isoformat() for name, until in run.locked.items()},
            "lock_failed": run.lock_failed,
            "error": run.error,
        }
        for run in runs
    }


@shared_task(name="nzila_ops.run_dr_drill")
def run_dr_drill_task(
    database: str = "default", backup: str | None = None, storage: str | None = None
) -> dict[str, Any]:
    """The scheduled drill (this week's storage of DRILL_STORAGES, the latest backup); with
    ``backup``, a drill of that backup of ``database`` from ``storage`` (the admin's action)."""
    if backup is None:
        record = run_scheduled_drill(database)
    else:
        from nzila_ops.backups.drills import run_drill

        record = run_drill(database, backup=backup, storage=storage)
    return {
        "result": record.result,
        "storage": record.verification.get("storage"),
        "rto_seconds": record.rto_seconds,
        "error": record.error,
    }


# Never retried, and acknowledged when it starts (not late, whatever CELERY_TASK_ACKS_LATE says):
# a restore that failed, or whose worker died, is looked at by its operator (the page shows what
# happened), not run again behind their back.
@shared_task(name="nzila_ops.restore_backup", acks_late=False)
def restore_backup_task(
    request_id: str,
    database: str,
    backup: str,
    storage: str,
    username: str,
    requested_from: str | None = None,
) -> dict[str, Any]:
    """A restore asked for on the admin's restore page: restore_database, its progress in the
    cache under ``request_id`` for the page to show, one restore of a database at a time."""
    from nzila_ops.backups.admin_restore_service import run_admin_restore

    return run_admin_restore(request_id, database, backup, storage, username, requested_from)


@shared_task(name="nzila_ops.verify_backup")
def verify_backup_task(name: str, storage: str | None = None) -> dict[str, Any]:
    """Verify one backup (checksum, age, compression, the dump's listing) and keep the
    outcome on its catalog row, as the verify_backup command does; a failure is recorded,
    then raised, so the task fails loudly too."""
    from nzila_ops.backups.verify_record import verify_and_record

    return verify_and_record(name=name, storage_name=storage)


@shared_task(name="nzila_ops.watch_rpo")
def watch_rpo_task() -> dict[str, Any]:
    return {c.database: {"breached": c.breached, "changed": c.changed} for c in watch_rpo()}


@shared_task(name="nzila_ops.backup_digest")
def backup_digest_task() -> dict[str, Any]:
    """The daily email of the last 24 hours of backups (NOTIFY_ON_SUCCESS = "digest")."""
    if get_config()["NOTIFY_ON_SUCCESS"] != "digest":
        return {"sent": False}
    records = backups_since(hours=24)
    lines = {
        r.name: f"{r.status}" + (f" ({r.stored_size} bytes)" if r.stored_size else "")
        for r in records
    }
    failed = sum(r.status == "failed" for r in records)
    notify(
        Notification(
            kind="backup_digest",
            subject=f"Backups of the last 24 h: {len(records) - failed} ok, {failed} failed",
            summary="Every backup started in the last 24 hours:",
            details=lines,
        )
    )
    return {"sent": True, "backups": len(records), "failed": failed}


@shared_task(name="nzila_ops.sample_health")
def sample_health_task() -> dict[str, Any]:
    from nzila_ops.health.uptime import sample_health

    return {"flips": [f"{f.component}: {f.old or '-'} -> {f.new}" for f in sample_health()]}


@shared_task(name="nzila_ops.beat_heartbeat")
def beat_heartbeat_task() -> None:
    from nzila_ops.health.checks.celery import record_heartbeat

    record_heartbeat()


@shared_task(name="nzila_ops.send_incident_event")
def send_incident_event_task(event_pk: int) -> dict[str, str]:
    """The deliveries of one incident transition, queued after its transaction committed."""
    from nzila_ops.incidents.notifiers import send_event

    return send_event(event_pk)


@shared_task(name="nzila_ops.retry_deliveries")
def retry_deliveries_task() -> dict[str, Any]:
    """Send the incident deliveries that are due (retries, and any whose task never ran), and
    resolve flapping incidents whose component has stayed up."""
    from nzila_ops.incidents.notifiers import send_due
    from nzila_ops.incidents.service import settle_flapping

    outcomes = send_due()
    return {"deliveries": {str(pk): o for pk, o in outcomes.items()}, "settled": settle_flapping()}


@shared_task(name="nzila_ops.run_alert_drill")
def run_alert_drill_task(severity: str = "P2", wait_seconds: float = 600) -> dict[str, object]:
    """The alert-path drill (ALERT_DRILL_CRON). It holds a worker while it waits; a failed one
    is a real incident, which pages: that is how it is loud."""
    from nzila_ops.incidents.drill import run_alert_drill

    return run_alert_drill(severity=severity, wait_seconds=wait_seconds).as_dict()


@shared_task(name="nzila_ops.check_error_budget")
def check_error_budget_task() -> dict[str, Any]:
    """The error-budget burn-rate alerts (SLA.BURN_RATE_CRON): opens, supersedes or resolves
    the page and ticket incidents."""
    from nzila_ops.sla.burn_alerts import check_error_budget

    return check_error_budget().as_dict()


@shared_task(name="nzila_ops.send_sla_report")
def send_sla_report_task() -> dict[str, object]:
    """The previous month's SLA report through the notifier backends (SLA.REPORT_CRON); sent
    once per month even if beat fires twice."""
    from nzila_ops.sla.monthly import send_monthly_report

    return send_monthly_report().as_dict()
