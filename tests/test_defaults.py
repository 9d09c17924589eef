"""The defaults meet the product's own targets: RPO < 15 minutes, retention 7 daily / 4 weekly /
12 monthly. (The whole default schedule over a day: tests/test_default_install_day.py.)"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from celery.schedules import crontab

from nzila_ops.backups.retention import BackupInfo, Policy, plan_retention
from nzila_ops.conf import DEFAULTS
from tests.support.cron import fires


def firings(cron: str, start: datetime, end: datetime) -> list[datetime]:
    minute, hour, day_of_month, month_of_year, day_of_week = cron.split()
    schedule = crontab(minute, hour, day_of_week, day_of_month, month_of_year)
    count = int((end - start) / timedelta(minutes=1))
    minutes = (start + timedelta(minutes=m) for m in range(count))
    return [at for at in minutes if fires(schedule, at)]


def test_the_default_backup_cadence_keeps_the_newest_backup_within_the_rpo_target() -> None:
    start = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday: one whole week of firings
    times = firings(DEFAULTS["BACKUP_CRON"], start, start + timedelta(days=8))
    longest_gap = max((b - a).total_seconds() for a, b in pairwise(times))
    # What may be lost is the gap plus one dump: the target must leave room for that dump.
    assert longest_gap <= DEFAULTS["RPO_TARGET_SECONDS"] - 5 * 60
    assert DEFAULTS["RPO_TARGET_SECONDS"] == 15 * 60 and DEFAULTS["RPO_GRACE_SECONDS"] == 5 * 60


def test_the_default_retention_keeps_7_daily_4_weekly_12_monthly() -> None:
    now = datetime(2026, 11, 27, 10, 40, tzinfo=UTC)
    start = now - timedelta(days=400)
    every_10_minutes = [
        BackupInfo(f"b{i}", start + timedelta(minutes=10 * i))
        for i in range(int((now - start) / timedelta(minutes=10)))
    ]
    retention = DEFAULTS["RETENTION"]
    policy = Policy(
        retention["HOURLY"],
        retention["DAILY"],
        retention["WEEKLY"],
        retention["MONTHLY"],
        timedelta(minutes=retention["MIN_AGE_MINUTES"]),
    )
    kept = [d for d in plan_retention(every_10_minutes, now, policy) if d.keep]
    buckets: dict[str, set[str]] = {"daily": set(), "weekly": set(), "monthly": set()}
    for decision in kept:
        for reason in decision.reasons:
            if match := re.match(r"(daily|weekly|monthly) \((.*)\)", reason):
                buckets[match[1]].add(match[2])
    assert {name: len(periods) for name, periods in buckets.items()} == {
        "daily": 7,
        "weekly": 4,
        "monthly": 12,
    }
    # The oldest backup kept is from the 12th month back: a year of monthly recovery points.
    assert min(d.finished_at for d in kept).strftime("%Y-%m") == "2025-12"
