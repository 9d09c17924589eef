"""Backups and drills of a period: success rate, RPO achieved, RTO, hand-computed."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

import pytest

from nzila_ops.models import BackupRecord, DrillRecord
from nzila_ops.sla.data_protection import data_protection
from tests.sla.helpers import utc

pytestmark = pytest.mark.django_db
JAN, FEB = utc(2026, 1, 1), utc(2026, 2, 1)
_names = count()


def backup(finished: datetime, status: str = "succeeded", alias: str = "default") -> None:
    BackupRecord.objects.create(
        name=f"{alias}-{next(_names)}", database_alias=alias, engine="postgresql",
        status=status, started_at=finished - timedelta(minutes=2), finished_at=finished,
    )  # fmt: skip


def drill(started: datetime, rto: float | None, result: str = "passed") -> None:
    DrillRecord.objects.create(
        backup_name="b", database_alias="default", started_at=started,
        finished_at=started + timedelta(seconds=rto or 60), rto_seconds=rto,
        rto_target_seconds=3600, result=result,
    )  # fmt: skip


def test_largest_gap_runs_from_the_backup_before_the_period_to_its_end() -> None:
    backup(utc(2025, 12, 31, 23, 50))  # 10 min before the period
    backup(utc(2026, 1, 1, 0, 5))  # gap 15 min (from 23:50)
    backup(utc(2026, 1, 1, 0, 30), status="failed")  # a failure does not close a gap
    backup(utc(2026, 1, 1, 1, 5))  # gap 60 min
    backup(utc(2026, 1, 31, 23, 40))  # gap ~31 days; then 20 min to the end
    backup(utc(2026, 2, 1, 0, 10))  # after the period
    figures = data_protection(JAN, FEB, now=utc(2026, 3, 1)).backups[0]
    assert (figures.succeeded, figures.failed) == (3, 1)
    assert figures.success_percent == 75.0
    assert (
        figures.largest_gap_seconds
        == (utc(2026, 1, 31, 23, 40) - utc(2026, 1, 1, 1, 5)).total_seconds()
    )
    assert figures.rpo_met is False
    # Now is 1 March: the newest successful backup is that of 1 February 00:10.
    assert figures.current_age_seconds == (utc(2026, 3, 1) - utc(2026, 2, 1, 0, 10)).total_seconds()
    assert figures.rpo_target_seconds == 900


def test_backups_every_ten_minutes_meet_the_rpo() -> None:
    at = utc(2025, 12, 31, 23, 55)
    while at < FEB + timedelta(minutes=10):
        backup(at)
        at += timedelta(minutes=10)
    figures = data_protection(JAN, FEB, now=utc(2026, 3, 1)).backups[0]
    assert figures.largest_gap_seconds == 600
    assert figures.rpo_met is True
    assert figures.success_percent == 100.0


def test_the_current_month_measures_its_gap_up_to_now() -> None:
    backup(utc(2026, 1, 10, 11))
    figures = data_protection(JAN, FEB, now=utc(2026, 1, 10, 12)).backups[0]
    # From the period start (no earlier backup) to 11:00 is the largest: 9 days 11 h.
    assert figures.largest_gap_seconds == (9 * 24 + 11) * 3600
    assert figures.current_age_seconds == 3600


def test_no_backup_at_all_is_unknown_not_met() -> None:
    figures = data_protection(JAN, FEB, now=utc(2026, 3, 1)).backups[0]
    assert (figures.largest_gap_seconds, figures.rpo_met, figures.success_percent) == (
        None,
        None,
        None,
    )
    assert figures.current_age_seconds is None


def test_each_backed_up_database_has_its_own_figures(settings) -> None:  # type: ignore[no-untyped-def]
    settings.NZILA_OPS = {**settings.NZILA_OPS, "BACKUP_DATABASES": ["default", "sqlite"]}
    backup(utc(2026, 1, 5), alias="sqlite")
    rows = data_protection(JAN, FEB, now=utc(2026, 3, 1)).backups
    assert [(r.database, r.succeeded) for r in rows] == [("default", 0), ("sqlite", 1)]


def test_rto_latest_and_worst_of_the_drills_in_the_period() -> None:
    drill(utc(2026, 1, 3), 1200)
    drill(utc(2026, 1, 10), 2400)
    drill(utc(2026, 1, 20), 900)
    drill(utc(2026, 2, 3), 5000)  # next month
    drills = data_protection(JAN, FEB, now=utc(2026, 3, 1)).drills
    assert (drills.passed, drills.latest_rto_seconds, drills.worst_rto_seconds) == (3, 900, 2400)
    assert (drills.rto_target_seconds, drills.rto_met) == (3600, True)


def test_a_failed_drill_misses_the_rto_whatever_the_others_took() -> None:
    drill(utc(2026, 1, 3), 600)
    drill(utc(2026, 1, 4), None, result="failed")
    drills = data_protection(JAN, FEB, now=utc(2026, 3, 1)).drills
    assert (drills.failed, drills.latest_rto_seconds, drills.rto_met) == (1, 600, False)


def test_no_drill_is_unknown() -> None:
    drills = data_protection(JAN, FEB, now=utc(2026, 3, 1)).drills
    assert (drills.passed, drills.worst_rto_seconds, drills.rto_met) == (0, None, None)
