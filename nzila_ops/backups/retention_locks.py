"""Retention and S3 Object Lock agreeing: how long the plan keeps each backup, the locks of
the kept ones extended to that date (plus the storage's margin), and the locked ones skipped.

A backup is written locked for the shortest time the plan keeps anything (storages/s3_lock.py);
each retention run computes ``keep_until`` for every backup it keeps and lengthens the locks of
its object and manifest to that date plus the margin. So retention only meets a lock it set
itself (within the margin, or after the policy was shortened) and then skips the backup, saying
until when, and deletes it at a later run.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time
from typing import Any

from nzila_ops.backups.manifest import manifest_key
from nzila_ops.backups.retention import BUCKETS, Decision, Policy
from nzila_ops.backups.storages import BackupStorage
from nzila_ops.exceptions import OpsError, describe

logger = logging.getLogger("nzila_ops.retention")


def bucket_start(setting: str, bucket: int) -> datetime:
    """The first instant of a retention bucket (retention.BUCKETS' numbering), in UTC."""
    if setting == "hourly":
        return datetime.fromtimestamp(bucket * 3600, UTC)
    if setting == "daily":
        day = date.fromordinal(bucket)
    elif setting == "weekly":
        day = date.fromordinal(bucket * 7 + 1)  # Mondays are the ordinals 7k + 1
    elif setting == "monthly":
        day = date(bucket // 12, bucket % 12 + 1, 1)
    else:
        raise ValueError(f"unknown retention bucket {setting!r}")
    return datetime.combine(day, time(), UTC)


def keep_until(decision: Decision, now: datetime, policy: Policy) -> datetime | None:
    """Until when the plan made at ``now`` surely keeps this backup if nothing else changes;
    None for a backup it deletes.

    A slot in a finished hour, day, ISO week or month keeps its backup until that bucket
    leaves the window (an hour's keeper 24 hours, a month's 12 months by default); the latest
    such date wins. A slot in the current bucket may pass to a newer backup, and "newest
    successful backup" or "running" hold only while they are true: they vouch for ``now``
    only (the next run extends again). "younger than" holds until the minimum age is reached.
    """
    if not decision.keep:
        return None
    dates = [now]
    for reason in decision.reasons:
        if reason.startswith("younger than"):
            dates.append(decision.finished_at + policy.min_age)
        for setting, _label, bucket_of in BUCKETS:
            if not reason.startswith(f"{setting} ("):
                continue
            current = bucket_of(now)
            bucket = bucket_of(decision.finished_at)
            if bucket < current:
                dates.append(bucket_start(setting, bucket + getattr(policy, setting)))
    return max(dates)


def held_by_lock(
    storage: BackupStorage, manifest: dict[str, Any], now: datetime
) -> datetime | None:
    """The latest lock date, if still in the future, of a backup's object or manifest: the
    object is deleted first, so both are looked at before either is touched."""
    if storage.object_lock_mode is None:
        return None
    obj = manifest["object"]
    dates = [
        # The version the manifest names: in a copy, the target's own (copies.py).
        storage.lock_until(obj["key"], obj.get("version_id")),
        storage.lock_until(manifest_key(manifest["database_alias"], manifest["name"])),
    ]
    latest = max((d for d in dates if d is not None), default=None)
    return latest if latest is not None and latest > now else None


def extend_kept_locks(
    storage: BackupStorage,
    decisions: list[Decision],
    manifests: dict[str, dict[str, Any]],
    now: datetime,
    policy: Policy,
) -> tuple[dict[str, datetime], dict[str, str]]:
    """Lengthen the locks of every kept backup's object and manifest to its ``keep_until``
    plus the storage's margin. Returns (name -> the date locked until, name -> the failure);
    a failure is logged as an error and the run goes on with the other backups."""
    extended: dict[str, datetime] = {}
    failed: dict[str, str] = {}
    if storage.object_lock_mode is None:
        return extended, failed
    for decision in decisions:
        until = keep_until(decision, now, policy)
        manifest = manifests.get(decision.name)
        if until is None or manifest is None:
            continue  # deleted, or running (nothing written yet)
        until += storage.lock_margin
        obj = manifest["object"]
        try:
            storage.extend_lock(obj["key"], until, obj.get("version_id"))
            storage.extend_lock(manifest_key(manifest["database_alias"], decision.name), until)
        except OpsError as exc:
            failed[decision.name] = describe(exc)
            logger.error(
                "retention: the lock of %s was not extended (retried next run): %s",
                decision.name,
                describe(exc),
            )
            continue
        extended[decision.name] = until
    return extended, failed
