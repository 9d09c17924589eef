"""Grandfather-father-son retention.

``plan_retention`` is a pure function of (backups, now, policy): for one database it keeps the
newest backup in each of the last N hours, days, ISO weeks and months (calendar buckets in
UTC, counted back from ``now``'s bucket), and always keeps the newest successful backup,
running backups and backups younger than the minimum age. The type label a backup was taken
with plays no part. ``enforce_retention`` applies a plan to storage and the catalog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from nzila_ops.backups import workdir
from nzila_ops.backups.engines import check_alias
from nzila_ops.backups.manifest import iter_manifests, manifest_key
from nzila_ops.backups.storages import BackupStorage, get_storage
from nzila_ops.conf import get_config
from nzila_ops.exceptions import ObjectLocked, OpsError, describe

logger = logging.getLogger("nzila_ops.retention")


@dataclass(frozen=True)
class BackupInfo:
    name: str
    finished_at: datetime
    status: str = "succeeded"


@dataclass(frozen=True)
class Policy:
    hourly: int = 24
    daily: int = 7
    weekly: int = 4
    monthly: int = 12
    min_age: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, storage: str | None = None) -> Policy:
        """RETENTION, with ``storage``'s entries of STORAGE_RETENTION merged over it."""
        config = get_config()
        r = {**config["RETENTION"], **config["STORAGE_RETENTION"].get(storage, {})}
        return cls(
            r["HOURLY"],
            r["DAILY"],
            r["WEEKLY"],
            r["MONTHLY"],
            timedelta(minutes=r["MIN_AGE_MINUTES"]),
        )


@dataclass(frozen=True)
class Decision:
    name: str
    finished_at: datetime
    keep: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _hour(at: datetime) -> int:
    return int(at.astimezone(UTC).timestamp() // 3600)


def _day(at: datetime) -> int:
    return at.astimezone(UTC).date().toordinal()


def _week(at: datetime) -> int:
    monday = at.astimezone(UTC).date() - timedelta(days=at.astimezone(UTC).weekday())
    return monday.toordinal() // 7  # ISO weeks start on Monday


def _month(at: datetime) -> int:
    at = at.astimezone(UTC)
    return at.year * 12 + at.month - 1


BUCKETS: list[tuple[str, str, Callable[[datetime], int]]] = [
    ("hourly", "hour", _hour),
    ("daily", "day", _day),
    ("weekly", "ISO week", _week),
    ("monthly", "month", _month),
]


def plan_retention(backups: Iterable[BackupInfo], now: datetime, policy: Policy) -> list[Decision]:
    """Keep or delete, with reasons, for every backup of one database; newest first."""
    ordered = sorted(backups, key=lambda b: (b.finished_at, b.name), reverse=True)
    reasons: dict[str, list[str]] = {b.name: [] for b in ordered}
    good = [b for b in ordered if b.status == "succeeded"]
    if good:
        reasons[good[0].name].append("newest successful backup")
    for backup in ordered:
        if backup.status == "running":
            reasons[backup.name].append("running")
        elif now - backup.finished_at < policy.min_age:
            reasons[backup.name].append(f"younger than {policy.min_age}")
    for setting, label, bucket_of in BUCKETS:
        count = getattr(policy, setting)
        current = bucket_of(now)
        seen: set[int] = set()
        for backup in good:  # newest first: the first one seen in a bucket is its newest
            bucket = bucket_of(backup.finished_at)
            if current - count < bucket <= current and bucket not in seen:
                seen.add(bucket)
                reasons[backup.name].append(f"{setting} ({label} {current - bucket} back)")
    return [
        Decision(b.name, b.finished_at, bool(reasons[b.name]), tuple(reasons[b.name]))
        for b in ordered
    ]


@dataclass
class RetentionRun:
    database: str
    decisions: list[Decision]
    storage: str = ""
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # What killed runs had left (partial files, incomplete uploads, private work directories).
    swept: list[str] = field(default_factory=list)
    # Object lock (retention_locks.py): backups the plan deletes but a lock still keeps (deleted
    # by a later run), and the dates the kept ones are now locked until, or why not.
    locked: dict[str, datetime] = field(default_factory=dict)
    locks_extended: dict[str, datetime] = field(default_factory=dict)
    lock_failed: dict[str, str] = field(default_factory=dict)
    # The run failed as a whole (its storage unreachable, ...): one line; the others went on.
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "storage": self.storage,
            "decisions": [
                {
                    "name": d.name,
                    "finished_at": d.finished_at.isoformat(),
                    "keep": d.keep,
                    "reasons": list(d.reasons),
                }
                for d in self.decisions
            ],
            "deleted": self.deleted,
            "failed": self.failed,
            "swept": self.swept,
            "locked": {name: until.isoformat() for name, until in self.locked.items()},
            "locks_extended": {n: until.isoformat() for n, until in self.locks_extended.items()},
            "lock_failed": self.lock_failed,
            "error": self.error,
        }


def enforce_retention(
    database: str, dry_run: bool = False, now: datetime | None = None, storage: str | None = None
) -> RetentionRun:
    """Apply the policy to the backups of ``database`` in storage (the truth): BACKUP_STORAGE,
    or the copy target ``storage`` by its own policy (STORAGE_RETENTION).

    The object is deleted before its manifest, so a failure half-way leaves the manifest
    listed and the next run deletes it again: a deletion is never forgotten."""
    from nzila_ops.backups.retention_locks import extend_kept_locks, held_by_lock
    from nzila_ops.models import BackupRecord

    check_alias(database)
    now = now or timezone.now()
    copy_target = storage
    storage = get_storage(storage)
    manifests = {m["name"]: m for m in iter_manifests(storage, database)}
    backups = [
        BackupInfo(name, datetime.fromisoformat(m["finished_at"])) for name, m in manifests.items()
    ]
    running = BackupRecord.objects.filter(database_alias=database, status="running")
    backups += [BackupInfo(r.name, r.started_at, "running") for r in running]
    policy = Policy.from_settings(storage.name)
    run = RetentionRun(database, plan_retention(backups, now, policy), storage.name)
    if dry_run:
        return run
    run.swept = sweep_abandoned(storage)
    for decision in run.decisions:
        if decision.keep or decision.name not in manifests:
            continue
        manifest = manifests[decision.name]
        try:
            # Under object lock both are looked at first: deleting the object and meeting the
            # manifest's lock would leave a backup listed without its object.
            until = held_by_lock(storage, manifest, now)
            if until is not None:
                raise ObjectLocked(decision.name, until)
            storage.delete(manifest["object"]["key"])
            storage.delete(manifest_key(database, decision.name))
        except ObjectLocked as exc:
            # A lock set by an earlier run (its margin, or a longer policy then): the backup
            # goes at a run after that date. Not a failure.
            run.locked[decision.name] = exc.until or now
            logger.info("retention: kept %s: %s", decision.name, exc)
            continue
        except OpsError as exc:
            run.failed[decision.name] = str(exc)
            logger.error(
                "retention: could not delete %s (retried next run): %s", decision.name, exc
            )
            continue
        run.deleted.append(decision.name)
        if copy_target is None:
            BackupRecord.objects.filter(name=decision.name).update(deleted_at=now)
        else:
            _copy_deleted(decision.name, copy_target)
    run.locks_extended, run.lock_failed = extend_kept_locks(
        storage, run.decisions, manifests, now, policy
    )
    logger.info(
        "retention of %s: deleted %d, kept %d",
        database,
        len(run.deleted),
        sum(d.keep for d in run.decisions),
    )
    return run


def sweep_abandoned(storage: BackupStorage) -> list[str]:
    """Remove what killed backups and restores left, in storage and in the private work
    directory. Best effort: retention goes on whatever happens here."""
    swept = []
    try:
        swept += storage.sweep_abandoned_writes()
    except Exception as exc:
        logger.warning("retention: abandoned writes in storage not swept: %s", describe(exc))
    try:
        swept += [f"{path}, left by a run that died" for path in workdir.sweep_abandoned()]
    except Exception as exc:
        logger.warning("retention: work directory not swept: %s", describe(exc))
    for what in swept:
        logger.warning("retention: removed %s", what)
    return swept


def _copy_deleted(name: str, storage: str) -> None:
    from nzila_ops.models import BackupCopy

    BackupCopy.objects.filter(backup__name=name, storage_name=storage).update(
        status=BackupCopy.Status.DELETED, error=f"deleted by the retention policy of {storage}"
    )


def enforce_retention_all(database: str | None = None, dry_run: bool = False) -> list[RetentionRun]:
    """``database``, or every database in BACKUP_DATABASES: what the command and task run,
    in BACKUP_STORAGE and then in each copy target (COPY_STORAGES), each by its own policy.
    A run that fails as a whole (its storage unreachable) is returned with its ``error`` and
    the others still run: one storage down must not stop retention everywhere else."""
    config = get_config()
    aliases = [database] if database else config["BACKUP_DATABASES"]
    if database is not None:
        check_alias(database)  # a wrong name is the caller's error, not a storage's
    runs = []
    for storage in [None, *config["COPY_STORAGES"]]:
        for alias in aliases:
            try:
                runs.append(enforce_retention(alias, dry_run=dry_run, storage=storage))
            except Exception as exc:
                name = storage or config["BACKUP_STORAGE"]
                logger.exception("retention of %s in storage %s failed", alias, name)
                runs.append(RetentionRun(alias, [], name, error=describe(exc)))
    return runs
