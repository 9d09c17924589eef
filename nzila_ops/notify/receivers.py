"""Turn the app's signals into notifications. Connected in AppConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from nzila_ops import signals
from nzila_ops.conf import get_config
from nzila_ops.notify import Notification, notify


@receiver(signals.backup_failed, dispatch_uid="nzila_ops.notify.backup_failed")
def on_backup_failed(*, component: str, reason: str, at: Any, record: Any = None, **_: Any) -> None:
    database = component.removeprefix("backup:")
    notify(
        Notification(
            kind="backup_failed",
            subject=f"Backup of {database!r} FAILED",
            summary=f"The backup of database {database!r} failed; no new backup was stored.",
            database=database,
            severity="critical",
            error=reason,
            next_step=(
                f"run `python manage.py backup_database --database {database}` on an app host "
                "to reproduce, fix the cause (database, storage, keys), and check "
                "`python manage.py list_backups` for the newest good backup: the RPO clock runs."
            ),
            at=at,
            details={"Backup": record.name} if record is not None else {},
        )
    )


@receiver(signals.backup_succeeded, dispatch_uid="nzila_ops.notify.backup_succeeded")
def on_backup_succeeded(*, record: Any, component: str, at: Any, **_: Any) -> None:
    if get_config()["NOTIFY_ON_SUCCESS"] != "each":
        return
    notify(
        Notification(
            kind="backup_succeeded",
            subject=f"Backup of {record.database_alias!r} succeeded",
            summary=f"Backup {record.name} is stored and listed.",
            database=record.database_alias,
            at=at,
            details={
                "Stored": f"{record.stored_size} bytes (raw {record.raw_size})",
                "SHA-256": record.sha256,
                "Encrypted": "yes (age)" if record.encrypted else "NO",
            },
        )
    )


@receiver(signals.restore_finished, dispatch_uid="nzila_ops.notify.restore_finished")
def on_restore_finished(*, outcome: Any, succeeded: bool, reason: str, at: Any, **_: Any) -> None:
    if succeeded:
        notify(
            Notification(
                kind="restore_succeeded",
                subject=f"Database {outcome.database!r} was restored",
                summary=f"Backup {outcome.backup_name} was restored into {outcome.target} and "
                "verified against its manifest.",
                database=outcome.database,
                severity="warning",
                at=at,
                next_step=(
                    f"check the application; the previous database is kept as "
                    f"{outcome.previous_database} (drop it with `python manage.py "
                    f"pre_restore_databases --drop NAME` when no longer needed)."
                    if outcome.previous_database
                    else "check the application."
                ),
                details={"Phases (s)": str(outcome.phase_seconds)},
            )
        )
        return
    notify(
        Notification(
            kind="restore_failed",
            subject=f"Restore of {outcome.database!r} FAILED (live database unchanged)",
            summary=f"Restoring backup {outcome.backup_name} into {outcome.target} failed. "
            "The live database was not changed.",
            database=outcome.database,
            severity="critical",
            error=reason,
            at=at,
            next_step="run `python manage.py verify_backup NAME` on the backup, or restore an "
            "older one (`python manage.py list_backups`).",
        )
    )


@receiver(signals.drill_failed, dispatch_uid="nzila_ops.notify.drill_failed")
def on_drill_failed(*, record: Any, reason: str, at: Any, **_: Any) -> None:
    notify(
        Notification(
            kind="drill_failed",
            subject=f"DR drill of {record.database_alias!r} FAILED",
            summary="The disaster-recovery drill could not restore and verify the latest backup "
            "within the RTO target: a real restore would have the same problem.",
            database=record.database_alias,
            severity="critical",
            error=reason,
            at=at,
            next_step=f"run `python manage.py run_dr_drill --database {record.database_alias}` "
            "and `python manage.py verify_backup --latest` to see the fault.",
            details={"Backup": record.backup_name or "none"},
        )
    )


@receiver(signals.rpo_changed, dispatch_uid="nzila_ops.notify.rpo_changed")
def on_rpo_changed(*, database: str, breached: bool, reason: str, at: Any, **_: Any) -> None:
    notify(
        Notification(
            kind="rpo_breached" if breached else "rpo_recovered",
            subject=(
                f"RPO BREACHED for {database!r}" if breached else f"RPO recovered for {database!r}"
            ),
            summary=reason,
            database=database,
            severity="critical" if breached else "info",
            at=at,
            next_step=(
                "check that the backup schedule runs (Celery beat and workers) and that "
                f"`python manage.py backup_database --database {database}` succeeds."
                if breached
                else ""
            ),
        )
    )
