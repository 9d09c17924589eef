"""Met and the credit decided exactly at the boundary: they never disagree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from nzila_ops.sla.credits import CreditTier
from nzila_ops.sla.periods import parse_period
from nzila_ops.sla.report import build_report
from tests.sla.helpers import history, utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_component(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"COMPONENTS": ["api"]}}


@pytest.mark.parametrize(
    ("down_seconds", "met", "credit"),
    [(2419.2, True, None), (2418.2, True, None), (2420.2, False, CreditTier(99.9, 10))],
)
def test_downtime_of_exactly_the_allowed_meets_the_target_and_earns_no_credit(
    one_component: None, down_seconds: float, met: bool, credit: CreditTier | None
) -> None:
    # February 2026 (28 days, 2,419,200 s): 99.9 % allows 2,419.2 s. In floats the uptime
    # of exactly that downtime is 99.89999999..., below the 99.9 % tier: met, yet credited.
    outage = utc(2026, 2, 10)
    history("api", (utc(2026, 1, 1), "ok"), (outage, "failing"),
            (outage + timedelta(seconds=down_seconds), "ok"))  # fmt: skip
    report = build_report(parse_period("2026-02"), now=utc(2026, 3, 5))
    assert report.overall.down_seconds == pytest.approx(down_seconds)
    assert report.overall.met is met
    assert report.credit == credit
    assert report.months[0].credit == credit
