"""The burn-rate arithmetic and the multiwindow rule, as pure functions (no database)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nzila_ops.conf import DEFAULTS
from nzila_ops.events import Severity
from nzila_ops.sla.burn_rate import (
    BurnRule,
    WindowUsage,
    burn_rate,
    duration,
    evaluate,
    is_burning,
    judge,
    number,
    superseded,
    windows_of,
)

MIN, HOUR, DAY = 60, 3600, 86400
DEFAULT_RULES = [BurnRule.from_setting(r) for r in DEFAULTS["SLA"]["BURN_RATE_RULES"]]
FAST, SLOW, TICKET = DEFAULT_RULES


def usage(window: timedelta, bad: float, observed: float | None = None) -> WindowUsage:
    seconds = window.total_seconds()
    return WindowUsage(window, bad, seconds if observed is None else observed)


def test_the_default_rules_are_the_sre_workbooks() -> None:
    described = [rule.describe() for rule in DEFAULT_RULES]
    assert described == [
        "page: 14.4x over 1 h and 5 min",
        "page: 6x over 6 h and 30 min",
        "ticket: 1x over 3 d and 6 h",
    ]
    assert [r.severity for r in DEFAULT_RULES] == [Severity.P1, Severity.P1, Severity.P3]
    assert [duration(w) for w in windows_of(DEFAULT_RULES)] == [
        "5 min", "30 min", "1 h", "6 h", "3 d"
    ]  # fmt: skip


def test_ten_minutes_down_in_an_hour_burns_a_999_budget_166_times_over() -> None:
    # 10 / 60 = 1/6 of the hour down; 99.9 % allows 1/1000: 1000 / 6 = 166.67.
    assert number(burn_rate(10 * MIN, HOUR, 99.9)) == "166.7"
    assert burn_rate(10 * MIN, HOUR, 99.9) == pytest.approx(1000 / 6)
    # All of the window down: 1 / (1 - 0.999).
    assert burn_rate(5 * MIN, 5 * MIN, 99.9) == pytest.approx(1000)


def test_a_window_with_nothing_observed_has_no_burn_rate_and_never_fires() -> None:
    assert burn_rate(0, 0, 99.9) is None
    assert not is_burning(0, 0, 1, 99.9)
    verdict = judge(FAST, usage(FAST.long_window, 0, 0), usage(FAST.short_window, 0, 0), 99.9)
    assert verdict.fires is False and verdict.long_burn is None


def test_exactly_at_the_threshold_fires_whatever_floating_point_says() -> None:
    # 144 s of 10,000 is 1.44 %: exactly 14.4x of a 0.1 % budget. In floats,
    # 0.0144 / (1 - 0.999) is 14.3999..., which would not fire.
    assert (144 / 10000) / (1 - 0.999) < 14.4
    assert is_burning(144, 10000, 14.4, 99.9)
    assert not is_burning(143.99, 10000, 14.4, 99.9)
    # The ticket: 1x over 3 days is 259.2 s down (4.32 min).
    assert is_burning(2592, 2592000, 1, 99.9) and not is_burning(2591, 2592000, 1, 99.9)


def test_a_hot_long_window_with_a_cool_short_one_does_not_fire() -> None:
    hot_long = usage(FAST.long_window, 10 * MIN)  # 166.7x over the hour
    cool_short = usage(FAST.short_window, 0)  # but nothing in the last 5 minutes
    hot_short = usage(FAST.short_window, 5 * MIN)
    assert judge(FAST, hot_long, cool_short, 99.9).fires is False
    assert judge(FAST, hot_long, hot_short, 99.9).fires is True
    # A blip that fills the last 5 minutes but is nothing over the hour: no page either.
    blip = usage(FAST.long_window, 30)  # 30 s down in the hour: 8.3x < 14.4x
    assert judge(FAST, blip, usage(FAST.short_window, 30), 99.9).fires is False


def test_levels_come_most_severe_first_and_a_firing_page_supersedes_the_ticket() -> None:
    windows = {w: usage(w, 10 * MIN) for w in windows_of(DEFAULT_RULES)}
    windows[timedelta(minutes=5)] = usage(timedelta(minutes=5), 5 * MIN)
    page, ticket = evaluate(DEFAULT_RULES, windows, 99.9)
    assert (page.name, page.severity, page.fires) == ("page", Severity.P1, True)
    assert (ticket.name, ticket.severity, ticket.fires) == ("ticket", Severity.P3, True)
    assert superseded(ticket, [page, ticket]) is page
    assert superseded(page, [page, ticket]) is None
    # The slow page rule needs 6x over 6 h: 10 min of 360 is 27.8x.
    assert [v.fires for v in page.verdicts] == [True, True]


def test_a_quiet_page_leaves_the_ticket_its_own_alert() -> None:
    # 30 minutes down, 2 hours ago: 8.3x over 6 h (< 6x? no: 30 / 360 / 0.001 = 83x) but
    # nothing in the last 30 minutes, so no page; the 3-day and 6-hour windows still burn.
    windows = {w: usage(w, 0) for w in windows_of(DEFAULT_RULES)}
    windows[timedelta(hours=6)] = usage(timedelta(hours=6), 30 * MIN)
    windows[timedelta(days=3)] = usage(timedelta(days=3), 30 * MIN)
    page, ticket = evaluate(DEFAULT_RULES, windows, 99.9)
    assert not page.fires and ticket.fires
    assert superseded(ticket, [page, ticket]) is None


def test_numbers_and_durations_read_as_an_operator_writes_them() -> None:
    assert [number(v) for v in (14.4, 6.0, 1, 1000.0, None)] == [
        "14.4", "6", "1", "1000", "unknown"
    ]  # fmt: skip
    assert duration(timedelta(minutes=90)) == "90 min"
    assert duration(timedelta(seconds=90)) == "90 s"


# Whole seconds (as the flips are recorded) up to a year, so the floats are exact.
seconds = st.integers(min_value=0, max_value=366 * DAY)
targets = st.sampled_from([90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999])
factors = st.sampled_from([0.5, 1, 2, 3, 6, 10, 14.4, 36, 100])


@st.composite
def bad_and_observed(draw: st.DrawFn) -> tuple[int, int]:
    observed = draw(seconds)
    return draw(st.integers(min_value=0, max_value=observed)), observed


@given(bad_and_observed(), factors, targets)
def test_nothing_down_never_fires_and_nothing_observed_never_fires(
    window: tuple[int, int], factor: float, target: float
) -> None:
    _, observed = window
    assert not is_burning(0, observed, factor, target)
    assert not is_burning(0, 0, factor, target)
    assert burn_rate(0, 0, target) is None


@given(bad_and_observed(), st.integers(min_value=0, max_value=366 * DAY), factors, targets)
def test_more_time_down_in_the_same_window_never_stops_an_alert(
    window: tuple[int, int], more: int, factor: float, target: float
) -> None:
    bad, observed = window
    worse = min(bad + more, observed)
    if is_burning(bad, observed, factor, target):
        assert is_burning(worse, observed, factor, target)


@given(bad_and_observed(), st.integers(min_value=1, max_value=1000), factors, targets)
def test_only_the_fraction_down_matters_not_the_windows_length(
    window: tuple[int, int], scale: int, factor: float, target: float
) -> None:
    bad, observed = window
    assert is_burning(bad, observed, factor, target) == is_burning(
        bad * scale, observed * scale, factor, target
    )


@given(bad_and_observed(), factors, targets)
def test_the_verdict_agrees_with_the_burn_rate_away_from_the_threshold(
    window: tuple[int, int], factor: float, target: float
) -> None:
    bad, observed = window
    rate = burn_rate(bad, observed, target)
    if rate is None:
        assert observed == 0
        return
    assert rate >= 0
    if rate > factor * (1 + 1e-9):
        assert is_burning(bad, observed, factor, target)
    if rate < factor * (1 - 1e-9):
        assert not is_burning(bad, observed, factor, target)


@given(st.integers(min_value=1, max_value=366 * DAY), targets)
def test_a_window_entirely_down_burns_at_one_over_the_budget(observed: int, target: float) -> None:
    assert burn_rate(observed, observed, target) == pytest.approx(100 / (100 - target))
    # The highest factor the settings accept fires when everything is down.
    assert is_burning(observed, observed, 100 / (100 - target) * (1 - 1e-12), target)


@given(bad_and_observed(), bad_and_observed(), factors)
def test_a_rule_fires_exactly_when_both_its_windows_burn(
    long: tuple[int, int], short: tuple[int, int], factor: float
) -> None:
    rule = BurnRule("page", timedelta(hours=1), timedelta(minutes=5), factor, Severity.P1)
    long_usage = WindowUsage(rule.long_window, *long)
    short_usage = WindowUsage(rule.short_window, *short)
    verdict = judge(rule, long_usage, short_usage, 99.9)
    assert verdict.fires == (is_burning(*long, factor, 99.9) and is_burning(*short, factor, 99.9))


@given(st.dictionaries(st.sampled_from(windows_of(DEFAULT_RULES)), bad_and_observed()))
def test_a_level_fires_when_any_of_its_rules_does(
    measured: dict[timedelta, tuple[int, int]],
) -> None:
    windows = {w: WindowUsage(w, *measured.get(w, (0, 0))) for w in windows_of(DEFAULT_RULES)}
    levels = evaluate(DEFAULT_RULES, windows, 99.9)
    assert [lv.name for lv in levels] == ["page", "ticket"]
    for level in levels:
        assert level.fires == any(v.fires for v in level.verdicts)
        assert level.firing == [v for v in level.verdicts if v.fires]
    # Superseding only ever points at a more severe, firing level.
    above = superseded(levels[1], levels)
    assert above is None or (above.fires and above.severity.is_more_severe_than("P3"))
