"""The RPO watch: is the newest good backup of each database recent enough?

It alerts when the newest successful backup is older than RPO_TARGET_SECONDS +
RPO_GRACE_SECONDS, and again when a new backup ends the breach; between the two it stays
quiet. The state lives in RpoState rows, changed with compare-and-update, so two watchers
running at once send one alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from nzila_ops import signals
from nzila_ops.backups.catalog import configured_location, newest_good_backup, rpo_limit_seconds
from nzila_ops.backups.engines import check_alias
from nzila_ops.conf import get_config
from nzila_ops.events import rpo_component, severity_for
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.models import RpoState


@dataclass(frozen=True)
class RpoCheck:
    database: str
    breached: bool
    changed: bool
    newest_backup: str | None
    age_seconds: float | None
    limit_seconds: float
    # The configured storage's location, or why it cannot be built (a misconfiguration).
    storage: str = "the configured storage"

    def describe(self) -> str:
        if self.newest_backup is None:
            return f"database {self.database!r} has no successful backup in {self.storage}"
        state = "older than" if self.breached else "within"
        return (
            f"newest good backup of {self.database!r} is {self.newest_backup}, "
            f"{self.age_seconds / 60:.1f} min old: {state} the RPO limit of "
            f"{self.limit_seconds / 60:.0f} min"
        )


def check_rpo(database: str, now: datetime | None = None) -> RpoCheck:
    check_alias(database)
    now = now or timezone.now()
    config = get_config()
    limit = rpo_limit_seconds(config)
    try:
        storage = configured_location()
        newest = newest_good_backup(database, storage)
    except ConfigurationError as exc:
        # No usable storage means no backup to restore from: a breach, said loudly, rather
        # than a watch task that fails where nobody looks.
        storage, newest = f"the configured storage ({exc})", None
    age = (now - newest.finished_at).total_seconds() if newest else None
    breached = age is None or age > limit
    state, _ = RpoState.objects.get_or_create(
        database_alias=database,
        defaults={"breached": False, "since": now, "last_checked_at": now},
    )
    # Only the watcher whose update flips the row reports the change.
    changed = bool(
        RpoState.objects.filter(pk=state.pk, breached=not breached).update(
            breached=breached, since=now
        )
    )
    RpoState.objects.filter(pk=state.pk).update(
        last_checked_at=now,
        newest_backup=newest.name if newest else "",
        newest_backup_at=newest.finished_at if newest else None,
    )
    check = RpoCheck(
        database, breached, changed, newest.name if newest else None, age, limit, storage
    )
    if changed:
        signals.rpo_changed.send(
            sender=RpoState,
            database=database,
            breached=breached,
            reason=check.describe(),
            component=rpo_component(database),
            severity=severity_for(rpo_component(database)) if breached else None,
            at=now,
        )
    return check


def watch_rpo(now: datetime | None = None) -> list[RpoCheck]:
    """Check every database in BACKUP_DATABASES."""
    return [check_rpo(alias, now) for alias in get_config()["BACKUP_DATABASES"]]
