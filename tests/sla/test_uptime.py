"""Uptime from recorded flips, hand-computed: every figure below is worked out in the comment
beside it, from the calendar and the flips, not from the code."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from nzila_ops.sla.periods import parse_period
from nzila_ops.sla.uptime import (
    availability,
    availability_with_overall,
    daily_availability,
    overall_availability,
    sla_components,
)
from tests.sla.helpers import history, maintenance, utc

pytestmark = pytest.mark.django_db
DAY = 86400
UTC_ZONE = ZoneInfo("UTC")


def test_a_28_day_month_with_a_30_minute_outage() -> None:
    history("api", (utc(2026, 1, 5), "ok"), (utc(2026, 2, 10, 10), "failing"),
            (utc(2026, 2, 10, 10, 30), "ok"))  # fmt: skip
    feb = parse_period("2026-02", UTC_ZONE)
    row = availability(["api"], feb.start, feb.end)["api"]
    # 28 days = 2,419,200 s; down 1,800 s.
    assert (row.up_seconds, row.down_seconds, row.no_data_seconds) == (2_417_400, 1800, 0)
    assert row.uptime_percent == pytest.approx(100 * 2_417_400 / 2_419_200)  # 99.9256 %


def test_a_30_day_month_without_an_outage_is_100_percent() -> None:
    history("api", (utc(2026, 1, 5), "ok"), (utc(2026, 4, 3), "warning"), (utc(2026, 4, 4), "ok"))
    april = parse_period("2026-04", UTC_ZONE)
    row = availability(["api"], april.start, april.end)["api"]
    # A warning is up: 30 days = 2,592,000 s all up.
    assert (row.up_seconds, row.down_seconds, row.uptime_percent) == (2_592_000, 0, 100.0)


def test_a_31_day_month_with_two_outages() -> None:
    history("api", (utc(2025, 12, 1), "ok"), (utc(2026, 1, 1), "failing"),
            (utc(2026, 1, 1, 0, 10), "ok"), (utc(2026, 1, 31, 23, 50), "failing"))  # fmt: skip
    january = parse_period("2026-01", UTC_ZONE)
    row = availability(["api"], january.start, january.end)["api"]
    # 31 days = 2,678,400 s; down 600 s at the start and 600 s to the end (still failing).
    assert row.down_seconds == 1200
    assert row.up_seconds == 2_678_400 - 1200


def test_a_dst_change_counts_the_extra_hour_and_an_outage_across_it() -> None:
    london = ZoneInfo("Europe/London")
    # 25 Oct 2026: clocks go back at 02:00 BST. Failing from 00:30 BST (23:30 UTC the day
    # before) to 01:30 GMT (01:30 UTC): 2 real hours though the wall clock moved 1 hour.
    history("api", (utc(2026, 9, 1), "ok"), (utc(2026, 10, 24, 23, 30), "failing"),
            (utc(2026, 10, 25, 1, 30), "ok"))  # fmt: skip
    october = parse_period("2026-10", london)
    row = availability(["api"], october.start, october.end)["api"]
    # 31 days + 1 hour = 2,682,000 s.
    assert row.up_seconds + row.down_seconds == 2_682_000
    assert row.down_seconds == 7200


def test_an_outage_spanning_a_month_boundary_counts_in_each_month() -> None:
    history("api", (utc(2025, 9, 1), "ok"), (utc(2025, 10, 31, 23), "failing"),
            (utc(2025, 11, 1, 1), "ok"))  # fmt: skip
    october, november = parse_period("2025-10", UTC_ZONE), parse_period("2025-11", UTC_ZONE)
    assert availability(["api"], october.start, october.end)["api"].down_seconds == 3600
    assert availability(["api"], november.start, november.end)["api"].down_seconds == 3600


def test_overlapping_outages_of_two_components_count_once_overall() -> None:
    history("api", (utc(2026, 5, 1), "ok"), (utc(2026, 6, 2, 10), "failing"),
            (utc(2026, 6, 2, 11), "ok"))  # fmt: skip
    history("database", (utc(2026, 5, 1), "ok"), (utc(2026, 6, 2, 10, 30), "failing"),
            (utc(2026, 6, 2, 12), "ok"))  # fmt: skip
    june = parse_period("2026-06", UTC_ZONE)
    rows, overall = availability_with_overall(["api", "database"], june.start, june.end)
    # api 10:00-11:00, database 10:30-12:00: the service is down 10:00-12:00, 2 h (not 2.5 h).
    assert (rows["api"].down_seconds, rows["database"].down_seconds) == (3600, 5400)
    assert overall.down_seconds == 7200
    assert overall.up_seconds == 30 * DAY - 7200
    assert overall == overall_availability(["api", "database"], june.start, june.end)


def test_maintenance_overlapping_an_outage_is_neither_up_nor_down() -> None:
    history("api", (utc(2026, 5, 1), "ok"), (utc(2026, 6, 2, 10), "failing"),
            (utc(2026, 6, 2, 12), "ok"))  # fmt: skip
    maintenance(utc(2026, 6, 2, 11), utc(2026, 6, 2, 13))
    june = parse_period("2026-06", UTC_ZONE)
    row = availability(["api"], june.start, june.end)["api"]
    # Down 10:00-11:00 only; maintenance 11:00-13:00 (2 h, of which 1 h failing) is excluded.
    assert (row.down_seconds, row.maintenance_seconds) == (3600, 7200)
    assert row.up_seconds == 30 * DAY - 3 * 3600
    assert row.uptime_percent == pytest.approx(100 * (30 * DAY - 10800) / (30 * DAY - 7200))


def test_a_components_own_maintenance_hides_only_its_own_downtime() -> None:
    history("api", (utc(2026, 5, 1), "ok"), (utc(2026, 6, 2, 10), "failing"),
            (utc(2026, 6, 2, 11), "ok"))  # fmt: skip
    history("database", (utc(2026, 5, 1), "ok"), (utc(2026, 6, 2, 10), "failing"),
            (utc(2026, 6, 2, 10, 20), "ok"))  # fmt: skip
    maintenance(utc(2026, 6, 2, 9), utc(2026, 6, 2, 12), component="api")
    june = parse_period("2026-06", UTC_ZONE)
    rows, overall = availability_with_overall(["api", "database"], june.start, june.end)
    assert (rows["api"].down_seconds, rows["api"].maintenance_seconds) == (0, 3 * 3600)
    assert rows["database"].down_seconds == 1200
    # Overall: only the database's 20 minutes; no window covered every component.
    assert (overall.down_seconds, overall.maintenance_seconds) == (1200, 0)


def test_a_component_first_seen_mid_month_has_no_data_before() -> None:
    history("api", (utc(2026, 1, 16), "ok"), (utc(2026, 1, 20), "failing"),
            (utc(2026, 1, 20, 1), "ok"))  # fmt: skip
    january = parse_period("2026-01", UTC_ZONE)
    row = availability(["api"], january.start, january.end)["api"]
    # 15 days unknown (not up); 16 days observed with 1 h down.
    assert row.no_data_seconds == 15 * DAY
    assert (row.up_seconds, row.down_seconds) == (16 * DAY - 3600, 3600)
    assert row.uptime_percent == pytest.approx(100 * (16 * DAY - 3600) / (16 * DAY))


def test_a_component_first_seen_failing_is_down_from_that_sample() -> None:
    history("api", (utc(2026, 1, 10), "failing"), (utc(2026, 1, 10, 0, 15), "ok"))
    january = parse_period("2026-01", UTC_ZONE)
    row = availability(["api"], january.start, january.end)["api"]
    assert (row.down_seconds, row.no_data_seconds) == (900, 9 * DAY)


def test_no_data_at_all_is_unknown_not_100_percent() -> None:
    history("other", (utc(2026, 1, 1), "ok"))
    january = parse_period("2026-01", UTC_ZONE)
    rows, overall = availability_with_overall(["api"], january.start, january.end)
    assert rows["api"].uptime_percent is None
    assert rows["api"].no_data_seconds == 31 * DAY
    assert overall.uptime_percent is None


def test_a_month_after_the_last_flip_keeps_the_last_state() -> None:
    history("api", (utc(2025, 1, 1), "ok"), (utc(2025, 12, 31, 23), "failing"))
    march = parse_period("2026-03", UTC_ZONE)
    row = availability(["api"], march.start, march.end)["api"]
    assert (row.down_seconds, row.uptime_percent) == (31 * DAY, 0.0)


def test_time_that_has_not_happened_yet_is_no_data() -> None:
    history("api", (utc(2026, 1, 1), "ok"), (utc(2026, 3, 10, 6), "failing"))
    march = parse_period("2026-03", UTC_ZONE)
    with time_machine.travel(utc(2026, 3, 10, 12), tick=False):
        row = availability(["api"], march.start, march.end)["api"]
    # 9.5 days up, 6 h down, the remaining 21.5 days not yet observed.
    assert (row.up_seconds, row.down_seconds) == (9 * DAY + 6 * 3600, 6 * 3600)
    assert row.no_data_seconds == 21 * DAY + 12 * 3600


def test_daily_figures_follow_the_local_calendar_across_dst(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"TIME_ZONE": "Europe/London"}}
    london = ZoneInfo("Europe/London")
    history("api", (utc(2026, 9, 1), "ok"), (utc(2026, 10, 25, 12), "failing"),
            (utc(2026, 10, 25, 13), "ok"))  # fmt: skip
    days = daily_availability(["api"], date(2026, 10, 24), 3, include_overall=True)
    api = days["api"]
    # 24 Oct: 24 h; 25 Oct (clocks back): 25 h with 1 h down; 26 Oct: 24 h.
    assert [d.up_seconds + d.down_seconds for d in api] == [86400, 90000, 86400]
    assert [d.down_seconds for d in api] == [0, 3600, 0]
    assert api[1].start.astimezone(london).hour == 0
    assert days["overall"][1].down_seconds == 3600


def test_the_sla_components_are_the_setting_or_the_critical_checks(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"COMPONENTS": ["api", "payments"]}}
    assert sla_components() == ["api", "payments"]
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"COMPONENTS": None}}
    names = sla_components()
    assert "database" in names and "disk" not in names and "celery_beat" not in names
