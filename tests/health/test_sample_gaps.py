"""A gap in the samples is recorded as "unknown": neither a fault nor a recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nzila_ops.exceptions import ConfigurationError
from nzila_ops.health.base import CheckResult, Status
from nzila_ops.health.uptime import record_sample, uptime
from nzila_ops.models import ComponentFlip, ComponentState, Incident

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def sample(status: Status, minute: float) -> ComponentFlip | None:
    result = CheckResult("redis", status, status.value, 1.0, True, 0.0)
    return record_sample(result, T0 + timedelta(minutes=minute))


def timeline() -> list[tuple[str, str, float]]:
    return [
        (f.old, f.new, (f.at - T0).total_seconds() / 60)
        for f in ComponentFlip.objects.filter(component="redis")
    ]


def test_a_gap_is_recorded_unknown_from_the_last_sample_plus_the_bound(
    heard: list[dict[str, Any]],
) -> None:
    sample(Status.OK, 0)
    sample(Status.OK, 1)
    # Nothing sampled for an hour (beat stopped); the bound is 180 s.
    assert sample(Status.OK, 61) is not None
    assert timeline() == [("", "ok", 0), ("ok", "unknown", 4), ("unknown", "ok", 61)]
    gap = ComponentFlip.objects.get(component="redis", new="unknown")
    assert gap.reason.startswith("not sampled")
    # The same state before and after: nothing to tell anyone.
    assert heard == []
    assert uptime("redis", T0, T0 + timedelta(minutes=62)) == 1.0
    assert ComponentState.objects.get(component="redis").status == "ok"


def test_a_gap_neither_opens_nor_resolves_an_incident(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "HEALTH_FAILURES_BEFORE_DOWN": 1}
    sample(Status.OK, 0)
    sample(Status.FAILING, 1)
    assert Incident.objects.filter(component="redis", status="triggered").count() == 1
    # Unobserved for an hour, still failing afterwards: the incident stays open, and the
    # down time counts only what was observed (1-4 and 61-62 of 62 minutes; 57 not observed).
    sample(Status.FAILING, 61)
    assert Incident.objects.filter(component="redis", status="triggered").count() == 1
    assert uptime("redis", T0, T0 + timedelta(minutes=62)) == pytest.approx(1 - 4 / 5)
    # Seen ok after another gap: that is a recovery of the observed fault.
    sample(Status.OK, 130)
    assert Incident.objects.filter(component="redis", status="resolved").count() == 1


def test_the_signal_after_a_gap_compares_the_last_observed_state(
    heard: list[dict[str, Any]],
) -> None:
    sample(Status.OK, 0)
    sample(Status.WARNING, 30)
    assert [(h["old"], h["new"]) for h in heard] == [("ok", "warning")]
    assert timeline()[-1] == ("unknown", "warning", 30)


def test_after_a_stopped_samplers_last_sample_nothing_is_observed(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "HEALTH_FAILURES_BEFORE_DOWN": 1}
    sample(Status.OK, 0)
    sample(Status.FAILING, 1)
    # The last sample at minute 1: observed to minute 4, down 3 of those 4 minutes.
    assert uptime("redis", T0, T0 + timedelta(hours=5)) == pytest.approx(1 / 4)
    assert uptime("redis", T0 + timedelta(hours=1), T0 + timedelta(hours=5)) is None


def test_samples_within_the_bound_record_no_gap() -> None:
    for minute in (0, 1, 2, 3, 4, 5, 8):  # 3 minutes apart at most: not a gap
        sample(Status.OK, minute)
    assert timeline() == [("", "ok", 0)]


@pytest.mark.parametrize("bad", [0, -60, "180", True, None])
def test_the_bound_must_be_a_positive_number(settings: Any, bad: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "HEALTH_SAMPLE_GAP_SECONDS": bad}
    with pytest.raises(ConfigurationError, match="HEALTH_SAMPLE_GAP_SECONDS"):
        sample(Status.OK, 0)
