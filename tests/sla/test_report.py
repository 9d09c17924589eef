"""The SLA report's uptime figures, budget and credits, hand-computed."""

from __future__ import annotations

from typing import Any

import pytest

from nzila_ops.sla.credits import CreditTier, credit_for
from nzila_ops.sla.periods import parse_period
from nzila_ops.sla.report import allowed_downtime, build_report
from tests.sla.helpers import history, maintenance, utc

pytestmark = pytest.mark.django_db
DAY = 86400


@pytest.fixture
def two_components(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"COMPONENTS": ["api", "database"]}}


@pytest.mark.parametrize(
    ("days", "minutes"), [(28, 40.32), (30, 43.2), (31, 44.64), (30.436875, 43.829)]
)
def test_allowed_downtime_at_99_9_is_exact_for_the_period(days: float, minutes: float) -> None:
    # 0.1 % of the month; the average Gregorian month (30.436875 days) gives the plan's 43.8.
    assert allowed_downtime(99.9, days * DAY) / 60 == pytest.approx(minutes, abs=5e-4)
    assert allowed_downtime(99.9, 31 * DAY) == 2678.4  # exactly: no float residue printed


def test_a_month_missing_the_target_earns_the_first_credit(two_components: None) -> None:
    # api down 1 h in January (31 days): 99.8656 %, below 99.9 -> 10 %.
    history("api", (utc(2025, 12, 1), "ok"), (utc(2026, 1, 10), "failing"),
            (utc(2026, 1, 10, 1), "ok"))  # fmt: skip
    history("database", (utc(2025, 12, 1), "ok"))
    report = build_report(parse_period("2026-01"))
    assert report.allowed_downtime_seconds == 2678.4
    assert report.overall.down_seconds == 3600
    assert report.overall.uptime_percent == pytest.approx(100 * (31 * DAY - 3600) / (31 * DAY))
    assert report.overall.budget_used_percent == pytest.approx(100 * 3600 / 2678.4)
    assert report.overall.met is False
    assert report.credit == CreditTier(99.9, 10)
    api, database = report.components
    assert (api.component, api.met, database.component, database.met) == (
        "api", False, "database", True,
    )  # fmt: skip
    assert database.budget_used_percent == 0


def test_a_month_within_budget_earns_no_credit(two_components: None) -> None:
    # 40 minutes down of 44.64 allowed: 89.6 % of the budget, no credit.
    history("api", (utc(2025, 12, 1), "ok"), (utc(2026, 1, 10), "failing"),
            (utc(2026, 1, 10, 0, 40), "ok"))  # fmt: skip
    report = build_report(parse_period("2026-01"))
    assert report.overall.budget_used_percent == pytest.approx(100 * 2400 / 2678.4)
    assert report.overall.met is True
    assert report.credit is None


def test_maintenance_shrinks_the_budget_with_the_observed_time(two_components: None) -> None:
    history("api", (utc(2025, 12, 1), "ok"))
    history("database", (utc(2025, 12, 1), "ok"))
    maintenance(utc(2026, 1, 5), utc(2026, 1, 6))
    report = build_report(parse_period("2026-01"))
    # Observed: 30 days; the budget is 0.1 % of that, the period's figure stays 31 days'.
    assert report.overall.allowed_downtime_seconds == pytest.approx(0.001 * 30 * DAY)
    assert report.allowed_downtime_seconds == 2678.4
    assert report.overall.availability.maintenance_seconds == DAY


def test_a_period_without_data_is_unknown_and_earns_no_credit(two_components: None) -> None:
    report = build_report(parse_period("2026-01"))
    assert report.overall.uptime_percent is None
    assert report.overall.met is None
    assert report.overall.budget_used_percent is None
    assert report.credit is None


def test_a_quarter_lists_each_month_with_its_own_credit(two_components: None) -> None:
    # February down 2 days (of 28): 92.857 %, below 95 -> 100 %; January and March clean.
    history("api", (utc(2025, 12, 1), "ok"), (utc(2026, 2, 1), "failing"),
            (utc(2026, 2, 3), "ok"))  # fmt: skip
    report = build_report(parse_period("2026-Q1"))
    assert [m.label for m in report.months] == ["2026-01", "2026-02", "2026-03"]
    assert [m.credit for m in report.months] == [None, CreditTier(95.0, 100), None]
    assert report.months[1].overall.uptime_percent == pytest.approx(100 * 26 / 28)
    assert report.credit is None  # credits are monthly
    # The quarter: 90 days, 2 down.
    assert report.overall.uptime_percent == pytest.approx(100 * 88 / 90)


@pytest.mark.parametrize(
    ("uptime", "credit"),
    [(100.0, None), (99.9, None), (99.89, 10), (99.0, 10), (98.99, 25), (95.0, 25),
     (94.99, 100), (0.0, 100), (None, None)],
)  # fmt: skip
def test_the_credit_tier_is_the_highest_credit_whose_threshold_is_above(
    uptime: float | None, credit: float | None
) -> None:
    tier = credit_for(uptime)
    assert (tier.credit_percent if tier else None) == credit


def test_credit_tiers_come_from_the_setting(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"CREDITS": [[99.5, 5], [99.95, 2]]}}
    assert credit_for(99.9) == CreditTier(99.95, 2)
    assert credit_for(99.0) == CreditTier(99.5, 5)
