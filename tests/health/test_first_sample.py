"""A component's very first sample obeys HEALTH_FAILURES_BEFORE_DOWN like any other.

After a fresh deploy the first check often fails once (a cold worker's slow first request):
that must not open an incident and page. Until the Nth failure in a row the component is
``unknown`` (no data), and the fault, once confirmed, is detected at the first sample."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine

from nzila_ops.health.base import CheckResult, Status
from nzila_ops.health.uptime import record_sample, uptime
from nzila_ops.models import ComponentFlip, ComponentState, Incident
from nzila_ops.sla.uptime import availability

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def sample(status: Status, minute: float, name: str = "payments_api") -> None:
    record_sample(
        CheckResult(name, status, status.value, 1.0, True, 0.0), T0 + timedelta(minutes=minute)
    )


def timeline(name: str = "payments_api") -> list[tuple[str, str, float]]:
    return [
        (f.old, f.new, (f.at - T0).total_seconds() / 60)
        for f in ComponentFlip.objects.filter(component=name)
    ]


def test_one_failing_first_sample_pages_nobody(heard: list[dict[str, Any]]) -> None:
    # The default: 2 failures in a row. The cold first check fails, the next one passes.
    sample(Status.FAILING, 0)
    state = ComponentState.objects.get(component="payments_api")
    assert (state.status, state.consecutive_failures) == ("unknown", 1)
    assert not Incident.objects.exists()
    sample(Status.OK, 1)
    assert not Incident.objects.exists()
    assert heard == []  # no fault was observed, so no recovery either
    assert timeline() == [("", "unknown", 0), ("unknown", "ok", 1)]
    # The minute before the first passing sample is no data, neither up nor down.
    assert uptime("payments_api", T0, T0 + timedelta(minutes=2)) == 1.0
    figures = availability(["payments_api"], T0, T0 + timedelta(minutes=2))["payments_api"]
    assert (figures.down_seconds, figures.no_data_seconds, figures.up_seconds) == (0, 60, 60)


def test_a_first_fault_confirmed_at_the_nth_sample_is_detected_at_the_first(
    heard: list[dict[str, Any]],
) -> None:
    sample(Status.FAILING, 0)
    sample(Status.FAILING, 1)  # the second in a row: down
    assert [(h["old"], h["new"], h["detected_at"]) for h in heard] == [("unknown", "failing", T0)]
    incident = Incident.objects.get(component="payments_api")
    assert incident.detected_at == T0
    assert timeline() == [("", "unknown", 0), ("unknown", "failing", 1)]
    sample(Status.OK, 2)
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_with_one_failure_needed_the_first_sample_signals_at_once(
    settings: Any, heard: list[dict[str, Any]]
) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "HEALTH_FAILURES_BEFORE_DOWN": 1}
    sample(Status.FAILING, 0)
    assert [(h["old"], h["new"], h["detected_at"]) for h in heard] == [("", "failing", T0)]
    assert ComponentState.objects.get(component="payments_api").status == "failing"
    assert Incident.objects.filter(component="payments_api").count() == 1


def test_a_gap_while_unconfirmed_records_no_flip_within_unknown(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "HEALTH_FAILURES_BEFORE_DOWN": 3}
    sample(Status.FAILING, 0)
    sample(Status.FAILING, 60)  # an hour unobserved: still unknown, not yet 3 in a row
    assert timeline() == [("", "unknown", 0)]
    sample(Status.FAILING, 61)
    assert timeline() == [("", "unknown", 0), ("unknown", "failing", 61)]
    assert Incident.objects.get(component="payments_api").detected_at == T0


def test_the_status_page_and_metrics_show_an_unconfirmed_component_unknown(
    settings: Any,
) -> None:
    from nzila_ops.sla.status import status_document
    from tests.observability.metrics_scrape import key, scrape

    settings.NZILA_OPS = {
        **settings.NZILA_OPS,
        "SLA": {"PUBLIC_COMPONENTS": {"payments_api": "Payments"}, "STATUS_CACHE_SECONDS": 0},
        # The scrape exports configured checks only; its celery part reads this file's own
        # Redis db, not the broker's.
        "HEALTH_EXTRA_CHECKS": [{"CHECK": "nzila_export_hub.checks.ApiViewCheck",
                                 "NAME": "payments_api", "OPTIONS": {"path": "/api/payments/"}}],
        "METRICS": {"REDIS_URL": "redis://127.0.0.1:6379/12"},
    }  # fmt: skip
    sample(Status.FAILING, 0)
    document = status_document(now=T0 + timedelta(seconds=30))
    assert document["components"][0]["status"] == "unknown"
    assert document["status"] == "unknown"
    assert document["components"][0]["days"][-1]["date"] == date(2026, 11, 1).isoformat()
    assert document["components"][0]["days"][-1]["status"] == "no_data"
    # Sampled 30 s ago, well within HEALTH_SAMPLE_GAP_SECONDS: unknown because unconfirmed,
    # not because the sampler stopped.
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        samples = scrape()
    for status in ("ok", "warning", "failing", "unknown"):
        expected = 1 if status == "unknown" else 0
        assert samples[key("nzila_component_status", component="payments_api", status=status)] == (
            expected
        )
    assert not [
        labels
        for name, labels in samples
        if name == "nzila_component_up" and ("component", "payments_api") in labels
    ]
