"""Informational e-mails that are not incidents: each successful backup (NOTIFY_ON_SUCCESS =
"each") and a successful restore. Connected in AppConfig.ready().

Failures are not mailed from here: they open incidents (nzila_ops.incidents.receivers), whose
transitions reach e-mail through the incident notifiers, once each, like every other channel.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from nzila_ops import signals
from nzila_ops.conf import get_config
from nzila_ops.events import backup_component
from nzila_ops.notify import Notification, notify


@receiver(signals.backup_succeeded, dispatch_uid="nzila_ops.notify.backup_succeeded")
def on_backup_succeeded(*, record: Any, component: str, at: Any, **_: Any) -> None:
    if get_config()["NOTIFY_ON_SUCCESS"] != "each":
        return
    if record is None or component != backup_component(record.database_alias):
        # The recovery of a copy:<alias> incident is sent as backup_succeeded too; it is told
        # as the incident's resolution, not as a backup that succeeded.
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
def on_restore_finished(*, outcome: Any, succeeded: bool, at: Any, **_: Any) -> None:
    if succeeded:
        notify(
            Notification(
                kind="restore_succeeded",
                subject=f"Database {outcome.database!r} was restored",
                summary=f"Backup {outcome.backup_name} was restored into {outcome.target} and "
                "verified against its manifest.",
                database=outcome.database,
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
