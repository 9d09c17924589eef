"""keep_until: the date until which the retention plan keeps a backup (the date its object
lock is extended to), as a pure function of the plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nzila_ops.backups.retention import BUCKETS, BackupInfo, Policy, plan_retention
from nzila_ops.backups.retention_locks import bucket_start, keep_until
from tests.backups.retention_support import backup_times, policies

NOW = datetime(2026, 11, 27, 10, 40, tzinfo=UTC)


def backups_at(times: list[datetime]) -> list[BackupInfo]:
    return [BackupInfo(f"b{i:03d}", at) for i, at in enumerate(times)]


@settings(max_examples=300, deadline=None)
@given(times=backup_times, policy=policies)
def test_every_kept_backup_is_kept_until_a_date_not_before_now(
    times: list[datetime], policy: Policy
) -> None:
    for decision in plan_retention(backups_at(times), NOW, policy):
        until = keep_until(decision, NOW, policy)
        if decision.keep:
            assert until is not None and until >= NOW
        else:
            assert until is None


@settings(max_examples=300, deadline=None)
@given(times=backup_times, policy=policies, before=st.timedeltas(timedelta(0), timedelta(days=400)))
def test_the_same_plan_later_but_before_keep_until_still_keeps_the_backup(
    times: list[datetime], policy: Policy, before: timedelta
) -> None:
    # With no new backups, a plan made at any moment before keep_until keeps the backup: its
    # lock (keep_until + margin) never outlives the plan's wish to keep it by more than the
    # margin, and never falls short of it.
    backups = backups_at(times)
    for decision in plan_retention(backups, NOW, policy):
        until = keep_until(decision, NOW, policy)
        if until is None or until == NOW:
            continue
        later = max(NOW, until - before - timedelta(microseconds=1))
        kept = {d.name for d in plan_retention(backups, later, policy) if d.keep}
        assert decision.name in kept


def test_the_keepers_of_finished_buckets_are_kept_until_their_bucket_leaves_the_window() -> None:
    policy = Policy()  # 24 hourly, 7 daily, 4 weekly, 12 monthly; an hour's minimum age
    backups = [
        BackupInfo("october", datetime(2026, 10, 31, 23, 0, tzinfo=UTC)),
        BackupInfo("yesterday", datetime(2026, 11, 26, 23, 0, tzinfo=UTC)),
        BackupInfo("an-hour-ago", datetime(2026, 11, 27, 9, 0, tzinfo=UTC)),
        BackupInfo("just-now", datetime(2026, 11, 27, 10, 30, tzinfo=UTC)),
    ]
    plan = {d.name: d for d in plan_retention(backups, NOW, policy)}
    until = {name: keep_until(d, NOW, policy) for name, d in plan.items()}
    # A month's keeper for 12 months after its month; also October's ISO week 44 keeper.
    assert until["october"] == datetime(2027, 10, 1, tzinfo=UTC)
    # Yesterday's keeper: its day leaves the 7-day window on Dec 3 (its hour leaves the
    # 24-hour one sooner; its ISO week is this week, not over yet).
    assert until["yesterday"] == datetime(2026, 12, 3, tzinfo=UTC)
    # The 09:00 hour's keeper, 24 hours on; today's day, week and month are not over, so
    # they vouch for nothing yet.
    assert until["an-hour-ago"] == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    # Newest and younger than an hour: until it is an hour old.
    assert until["just-now"] == datetime(2026, 11, 27, 11, 30, tzinfo=UTC)


def test_a_deleted_backup_has_no_keep_until() -> None:
    backups = [
        BackupInfo("old", datetime(2026, 11, 27, 8, 10, tzinfo=UTC)),
        BackupInfo("newer", datetime(2026, 11, 27, 8, 50, tzinfo=UTC)),
    ]
    plan = {d.name: d for d in plan_retention(backups, NOW, Policy())}
    assert not plan["old"].keep
    assert keep_until(plan["old"], NOW, Policy()) is None


@pytest.mark.parametrize("setting,label,bucket_of", BUCKETS)
def test_a_bucket_starts_in_the_bucket_and_the_instant_before_is_in_the_one_before(
    setting: str, label: str, bucket_of: object
) -> None:
    for at in (NOW, datetime(2024, 2, 29, 0, 0, tzinfo=UTC), datetime(2025, 12, 31, tzinfo=UTC)):
        bucket = bucket_of(at)  # type: ignore[operator]
        start = bucket_start(setting, bucket)
        assert bucket_of(start) == bucket  # type: ignore[operator]
        assert bucket_of(start - timedelta(microseconds=1)) == bucket - 1  # type: ignore[operator]
        assert start <= at
