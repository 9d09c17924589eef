"""Time nobody observed is no data, never the last state run on (hand-computed).

The samples go through the health sampler's record_sample, as beat's sample_health does: a
gap longer than HEALTH_SAMPLE_GAP_SECONDS is recorded as "unknown", and the stretch after a
component's last sample + the gap is no data when the sampler has stopped."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from nzila_ops.health.base import CheckResult, Status
from nzila_ops.health.uptime import record_sample
from nzila_ops.sla.uptime import Availability, coverages
from tests.sla.helpers import utc

pytestmark = pytest.mark.django_db
HOUR, DAY = 3600, 86400


def sample(at: datetime, status: Status = Status.OK, name: str = "api") -> None:
    record_sample(CheckResult(name, status, status.value, 1.0, True, 0.0), at)


def every(start: datetime, end: datetime, step: timedelta, status: Status = Status.OK) -> None:
    at = start
    while at < end:
        sample(at, status)
        at += step


def availability(start: datetime, end: datetime, now: datetime) -> Availability:
    each, _ = coverages(["api"], start, end, now)
    return each["api"].over("api", start, end)


@pytest.fixture
def sparse_sampler(settings: Any) -> None:
    # Samples every 2 hours, a gap bound of 3: a month of samples in a few hundred rows.
    settings.NZILA_OPS = {
        **settings.NZILA_OPS, "HEALTH_SAMPLE_GAP_SECONDS": 3 * HOUR,
        "HEALTH_FAILURES_BEFORE_DOWN": 1,
    }  # fmt: skip


def test_a_day_the_sampler_was_stopped_mid_month_is_no_data(sparse_sampler: None) -> None:
    two_hours = timedelta(hours=2)
    # Sampled from 30 September; the last sample before the stop is 10 October 00:00, the
    # first after it 11 October 03:00: unobserved from 10 October 03:00 (last + 3 h), a day.
    every(utc(2026, 9, 30), utc(2026, 10, 10, 1), two_hours)
    every(utc(2026, 10, 11, 3), utc(2026, 10, 20), two_hours)
    # Down 2 hours on 20 October (one failing sample, then ok).
    sample(utc(2026, 10, 20, 1), Status.FAILING)
    every(utc(2026, 10, 20, 3), utc(2026, 11, 1, 1), two_hours)
    october = availability(utc(2026, 10, 1), utc(2026, 11, 1), now=utc(2026, 11, 5))
    assert october.no_data_seconds == DAY
    assert october.down_seconds == 2 * HOUR
    assert october.up_seconds == 30 * DAY - 2 * HOUR
    assert october.uptime_percent == pytest.approx(100 * (30 * DAY - 2 * HOUR) / (30 * DAY))


def test_one_ok_flip_then_nothing_is_not_a_month_of_uptime(sparse_sampler: None) -> None:
    # The reviewer's case: one sample "ok" on 30 September, then the sampler never ran again.
    sample(utc(2026, 9, 30, 12))
    october = availability(utc(2026, 10, 1), utc(2026, 11, 1), now=utc(2026, 11, 5))
    assert october.uptime_percent is None
    assert october.no_data_seconds == 31 * DAY


def test_a_database_outage_that_kept_samples_from_being_written_is_no_data() -> None:
    # Default bound: 180 s. Sampled every minute until 10:02; the database was down and no
    # sample could be written until 12:00; sampled every minute again until 12:59.
    minute = timedelta(minutes=1)
    every(utc(2026, 10, 5, 10), utc(2026, 10, 5, 10, 3), minute)
    every(utc(2026, 10, 5, 12), utc(2026, 10, 5, 13), minute)
    window = availability(utc(2026, 10, 5, 10), utc(2026, 10, 5, 13), now=utc(2026, 10, 5, 13))
    # Observed: 10:00-10:05 (the last sample + 180 s) and 12:00-13:00.
    assert window.no_data_seconds == 115 * 60
    assert window.up_seconds == 65 * 60
    assert window.down_seconds == 0


def test_an_outage_across_the_unobserved_gap_counts_only_its_observed_part() -> None:
    minute = timedelta(minutes=1)
    every(utc(2026, 10, 5, 10), utc(2026, 10, 5, 10, 3), minute, Status.FAILING)
    every(utc(2026, 10, 5, 12), utc(2026, 10, 5, 13), minute)
    window = availability(utc(2026, 10, 5, 10), utc(2026, 10, 5, 13), now=utc(2026, 10, 5, 13))
    # A failing first sample ever is unknown until the 2nd failure in a row (10:01) confirms
    # it, as downtime starts at the Nth failure after an ok: down from 10:01 to 10:05 (the
    # last sample at 10:02 + 180 s), not to 12:00; 10:00-10:01 is no data.
    assert window.down_seconds == 4 * 60
    assert window.no_data_seconds == 116 * 60


def test_a_sampler_stopped_now_leaves_the_time_since_its_last_sample_as_no_data() -> None:
    every(utc(2026, 10, 5, 9), utc(2026, 10, 5, 10, 1), timedelta(minutes=1))
    # The last sample at 10:00; it is now 14:00, and nothing has been sampled since.
    window = availability(utc(2026, 10, 5, 9), utc(2026, 10, 5, 15), now=utc(2026, 10, 5, 14))
    assert window.up_seconds == 63 * 60  # 09:00 to 10:03 (10:00 + 180 s)
    assert window.no_data_seconds == 6 * HOUR - 63 * 60
