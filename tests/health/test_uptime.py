"""Recorded uptime: flips, not samples; down only after N failures; uptime from the flips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nzila_ops.health.base import CheckResult, Status
from nzila_ops.health.uptime import record_sample, sample_health, uptime
from nzila_ops.models import ComponentFlip, ComponentState

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def sample(status: Status, minute: int, name: str = "redis") -> ComponentFlip | None:
    result = CheckResult(name, status, f"{status.value} at {minute}", 1.0, True, 0.0)
    return record_sample(result, T0 + timedelta(minutes=minute))


def test_only_changes_are_recorded_and_down_needs_n_failures(
    settings: Any, heard: list[dict[str, Any]]
) -> None:
    settings.NZILA_OPS = {
        "STORAGES": {"default": "file:///tmp/x"},
        "HEALTH_FAILURES_BEFORE_DOWN": 3,
    }
    assert sample(Status.OK, 0) is not None  # the first sample sets the state
    assert sample(Status.OK, 1) is None
    assert sample(Status.FAILING, 2) is None
    assert sample(Status.FAILING, 3) is None
    flip = sample(Status.FAILING, 4)  # the third in a row
    assert flip is not None and (flip.old, flip.new) == ("ok", "failing")
    assert sample(Status.FAILING, 5) is None
    back = sample(Status.OK, 6)
    assert back is not None and (back.old, back.new) == ("failing", "ok")
    assert sample(Status.FAILING, 7) is None and sample(Status.OK, 8) is None  # a blip
    assert ComponentFlip.objects.count() == 3
    # The first sample is recorded but signals nothing: there was no state to change. The
    # severity is redis's (INCIDENT_SEVERITIES); the fault was first seen at the first of the
    # three failing samples, though the flip is at the third.
    assert [(h["old"], h["new"], h["severity"], h["detected_at"]) for h in heard] == [
        ("ok", "failing", "P1", T0 + timedelta(minutes=2)),
        ("failing", "ok", None, T0 + timedelta(minutes=6)),
    ]
    state = ComponentState.objects.get(component="redis")
    assert state.status == "ok" and state.consecutive_failures == 0


def test_uptime_is_computed_from_the_flips(settings: Any) -> None:
    settings.NZILA_OPS = {
        "STORAGES": {"default": "file:///tmp/x"},
        "HEALTH_FAILURES_BEFORE_DOWN": 1,
        # Samples tens of minutes apart, all taken as observed.
        "HEALTH_SAMPLE_GAP_SECONDS": 86400,
    }
    sample(Status.OK, 0)
    sample(Status.FAILING, 60)  # down 60 -> 90
    sample(Status.OK, 90)
    sample(Status.WARNING, 100)  # degraded still counts as up
    window = (T0, T0 + timedelta(minutes=600))
    assert uptime("redis", *window) == pytest.approx(1 - 30 / 600)
    assert uptime("redis", T0 + timedelta(minutes=70), T0 + timedelta(minutes=80)) == 0.0
    assert uptime("redis", T0 + timedelta(minutes=90), T0 + timedelta(minutes=600)) == 1.0
    assert uptime("nothing", *window) is None


def test_sample_health_runs_every_check_and_records_flips(three_checks: Any) -> None:
    flips = sample_health()
    assert {f.component for f in flips} == {"database", "cache", "redis"}
    assert sample_health() == []
