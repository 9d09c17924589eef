"""Report periods: real calendar lengths in the SLA time zone, and one-line refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nzila_ops.exceptions import InvalidArgument
from nzila_ops.sla.periods import month_period, parse_period, previous_month

DAY = 86400
LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("text", "days"),
    [("2026-02", 28), ("2028-02", 29), ("2026-04", 30), ("2026-01", 31), ("2026-Q1", 90),
     ("2026-Q4", 92), ("2026", 365), ("2028", 366)],
)  # fmt: skip
def test_a_period_lasts_its_calendar_days(text: str, days: int) -> None:
    assert parse_period(text, ZoneInfo("UTC")).seconds == days * DAY


def test_a_month_with_the_autumn_dst_change_is_an_hour_longer() -> None:
    october = parse_period("2026-10", LONDON)
    assert october.seconds == 31 * DAY + 3600
    assert october.start == datetime(2026, 9, 30, 23, tzinfo=UTC)
    assert october.end == datetime(2026, 11, 1, 0, tzinfo=UTC)
    assert october.label == "2026-10"


def test_a_month_with_the_spring_dst_change_is_an_hour_shorter() -> None:
    assert parse_period("2026-03", LONDON).seconds == 31 * DAY - 3600


def test_a_year_in_a_dst_zone_still_lasts_365_days() -> None:
    assert parse_period("2026", LONDON).seconds == 365 * DAY


def test_quarter_labels_and_bounds() -> None:
    q4 = parse_period("2026-q4", ZoneInfo("UTC"))
    assert (q4.label, q4.start, q4.end) == (
        "2026-Q4", datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )  # fmt: skip


def test_the_period_uses_the_configured_time_zone(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"TIME_ZONE": "Africa/Nairobi"}}
    month = parse_period("2026-10")
    assert month.start == datetime(2026, 9, 30, 21, tzinfo=UTC)


def test_previous_month_is_the_last_complete_month_in_the_sla_calendar(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"TIME_ZONE": "Pacific/Auckland"}}
    # 1 January 02:00 in Auckland is still 31 December in UTC.
    period = previous_month(datetime(2026, 12, 31, 13, tzinfo=UTC))
    assert period.label == "2026-12"
    assert previous_month(datetime(2026, 3, 15, tzinfo=UTC)).label == "2026-02"


def test_month_period_matches_parse_period() -> None:
    assert month_period(2026, 12, LONDON) == parse_period("2026-12", LONDON)


@pytest.mark.parametrize(
    "text", ["", "2026-13", "2026-00", "2026-Q5", "2026-Q0", "26-10", "2026-1", "2026/10",
             "1969", "9999", "2026-10-01", "october", "2026-10\n2026", "\x00"],
)  # fmt: skip
def test_a_bad_period_is_one_line_naming_what_is_accepted(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_period(text, ZoneInfo("UTC"))
    assert "\n" not in str(caught.value)
    assert "2026-Q4" in str(caught.value) or "01 to 12" in str(caught.value)


@given(st.text(max_size=60))
def test_any_text_is_a_period_or_a_one_line_refusal(text: str) -> None:
    try:
        period = parse_period(text, LONDON)
    except InvalidArgument as exc:
        assert "\n" not in str(exc)
    else:
        assert 28 * DAY - 3600 <= period.seconds <= 366 * DAY
