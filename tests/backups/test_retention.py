"""Grandfather-father-son retention: the pure policy (property-tested) and its enforcement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from nzila_ops.backups.retention import BUCKETS, BackupInfo, Policy, plan_retention
from nzila_ops.models import BackupRecord
from tests.backups.retention_support import backup_times, policies

NOW = datetime(2026, 11, 27, 10, 40, tzinfo=UTC)


def hourly_backups(start: datetime, end: datetime) -> list[BackupInfo]:
    backups, at = [], start
    while at <= end:
        backups.append(BackupInfo(f"b{at:%Y%m%d%H}", at))
        at += timedelta(hours=1)
    return backups


def test_the_worked_example_in_the_docs_keeps_42() -> None:
    backups = hourly_backups(datetime(2025, 10, 1, tzinfo=UTC), NOW.replace(minute=0))
    kept = [d for d in plan_retention(backups, NOW, Policy()) if d.keep]
    assert len(kept) == 42
    names = {d.name for d in kept}
    assert {"b2026112223", "b2026111523", "b2026110823", "b2025123123"} <= names
    assert "b2026112023" not in names and "b2025113023" not in names
    assert kept[0].reasons[0] == "newest successful backup"


def as_backups(times: list[datetime], running: int = 0) -> list[BackupInfo]:
    return [
        BackupInfo(f"b{i}", at, "running" if i < running else "succeeded")
        for i, at in enumerate(times)
    ]


def expected_gfs_set(backups: list[BackupInfo], policy: Policy) -> set[str]:
    """The GFS set computed the slow, obvious way: per bucket, the newest backup in it."""
    good = [b for b in backups if b.status == "succeeded"]
    keep = set()
    for setting, _label, bucket_of in BUCKETS:
        count = getattr(policy, setting)
        for bucket in range(bucket_of(NOW) - count + 1, bucket_of(NOW) + 1):
            inside = [b for b in good if bucket_of(b.finished_at) == bucket]
            if inside:
                keep.add(max(inside, key=lambda b: (b.finished_at, b.name)).name)
    return keep


@settings(max_examples=300, deadline=None)
@given(times=backup_times, policy=policies, running=st.integers(0, 3))
def test_keeps_exactly_the_gfs_set_plus_the_protected(
    times: list[datetime], policy: Policy, running: int
) -> None:
    backups = as_backups(times, running)
    decisions = plan_retention(backups, NOW, policy)
    kept = {d.name for d in decisions if d.keep}
    good = [b for b in backups if b.status == "succeeded"]
    protected = {b.name for b in backups if b.status == "running"}
    protected |= {b.name for b in good if NOW - b.finished_at < policy.min_age}
    if good:
        protected.add(max(good, key=lambda b: (b.finished_at, b.name)).name)
    assert kept == expected_gfs_set(backups, policy) | protected
    assert protected <= kept  # never removes the protected backups
    assert {d.name for d in decisions} == {b.name for b in backups}
    assert all(d.reasons for d in decisions if d.keep) and all(
        not d.reasons for d in decisions if not d.keep
    )


@settings(max_examples=200, deadline=None)
@given(times=backup_times, policy=policies)
def test_is_idempotent(times: list[datetime], policy: Policy) -> None:
    backups = as_backups(times)
    first = plan_retention(backups, NOW, policy)
    survivors = [b for b in backups if b.name in {d.name for d in first if d.keep}]
    second = plan_retention(survivors, NOW, policy)
    assert all(d.keep for d in second)


@pytest.mark.postgres
def test_enforce_retention_deletes_objects_then_manifests_and_keeps_history(
    ops_settings: Any, seeded_postgres: dict, backup_dir: Path
) -> None:
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "RETENTION": {"HOURLY": 2, "DAILY": 0, "WEEKLY": 0, "MONTHLY": 0, "MIN_AGE_MINUTES": 30},
    }
    names = []
    for hour in range(5):  # backups at 06:00 ... 10:00
        with time_machine.travel(datetime(2026, 11, 27, 6 + hour, 0, tzinfo=UTC), tick=False):
            out = StringIO()
            call_command("backup_database", "--type", "manual", stdout=out)
            names.append(out.getvalue().split(":")[0])

    with time_machine.travel(datetime(2026, 11, 27, 10, 40, tzinfo=UTC), tick=False):
        dry = StringIO()
        call_command("enforce_retention", "--dry-run", stdout=dry)
        assert len(list(backup_dir.rglob("*.manifest.json"))) == 5
        out = StringIO()
        call_command("enforce_retention", stdout=out)

    lines = {line.split()[0]: line for line in out.getvalue().splitlines()[1:]}
    assert "newest successful backup" in lines[names[4]] and "hourly" in lines[names[4]]
    assert "keep" in lines[names[3]] and "hourly (hour 1 back)" in lines[names[3]]
    for name in names[:3]:
        assert "deleted" in lines[name] and "in no retention bucket" in lines[name]
        assert "delete (dry run)" in dry.getvalue().split(name)[1].splitlines()[0]
    remaining = sorted(p.name for p in backup_dir.rglob("*") if p.is_file())
    assert len(remaining) == 4 and all(n.startswith((names[3], names[4])) for n in remaining)
    deleted = BackupRecord.objects.filter(name__in=names[:3])
    assert deleted.count() == 3 and all(r.deleted_at is not None for r in deleted)


@pytest.mark.postgres
def test_a_failed_deletion_is_retried_next_run(
    ops_settings: Any, seeded_postgres: dict, backup_dir: Path
) -> None:
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "RETENTION": {"HOURLY": 1, "DAILY": 0, "WEEKLY": 0, "MONTHLY": 0, "MIN_AGE_MINUTES": 0},
    }
    for hour in (8, 9):
        with time_machine.travel(datetime(2026, 11, 26, hour, tzinfo=UTC), tick=False):
            call_command("backup_database", stdout=StringIO())
    old = BackupRecord.objects.order_by("started_at").first()
    directory = backup_dir / "default"
    stored = backup_dir / old.storage_key
    # The object cannot be unlinked (root ignores permissions, so a directory stands in for a
    # file the storage refuses to delete).
    stored.unlink()
    stored.mkdir()
    (stored / "pinned").touch()
    with pytest.raises(CommandError, match=r"1 deletion\(s\) failed and will be retried"):
        call_command("enforce_retention", stdout=StringIO())
    assert (directory / f"{old.name}.manifest.json").exists()
    old.refresh_from_db()
    assert old.deleted_at is None
    (stored / "pinned").unlink()
    stored.rmdir()
    call_command("enforce_retention", stdout=StringIO())
    assert not (directory / f"{old.name}.manifest.json").exists()
    old.refresh_from_db()
    assert old.deleted_at is not None
