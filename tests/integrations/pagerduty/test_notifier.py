"""Incident transitions paged through Events API v2 to a local server speaking it, by way of
the delivery outbox and its periodic retry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from nzila_ops.incidents import service
from nzila_ops.incidents.notifiers import deliver_unrecorded
from nzila_ops.models import Delivery, Incident, IncidentEvent
from nzila_ops.tasks import retry_deliveries_task
from tests.integrations.pagerduty.conftest import configure
from tests.support.fake_pagerduty import FakePagerDuty

pytestmark = pytest.mark.postgres
NOTIFIER = "nzila_ops.integrations.pagerduty.notifier.PagerDutyNotifier"
SERVICES = ("API", "Database", "Payments", "Celery", "Auth", "Infrastructure")


@pytest.fixture
def paging(settings: Any, pagerduty: FakePagerDuty, transactional_db: Any) -> dict[str, str]:
    """PagerDuty as the one incident notifier, a routing key per service; returns the keys."""
    keys = {name: pagerduty.add_routing_key() for name in SERVICES}
    settings.NZILA_OPS = {
        **settings.NZILA_OPS,
        "INCIDENT_NOTIFIERS": [NOTIFIER],
        "INCIDENT_DELIVERY_RETRY_SECONDS": 60,
        "INCIDENT_DELIVERY_MAX_ATTEMPTS": 5,
    }
    configure(
        settings,
        EVENTS_URL=pagerduty.events_url,
        ROUTING_KEYS=keys,
        BACKOFF_SECONDS=0.001,
        BACKOFF_MAX_SECONDS=0.01,
    )
    return keys


def open_incident(component: str = "database", severity: str = "P0", **extra: Any) -> Incident:
    incident, created = service.open_incident(
        key=f"health:{component}",
        component=component,
        severity=severity,
        source="health",
        title=f"{component} is DOWN",
        **extra,
    )
    assert created
    return incident


def timeline(incident: Incident) -> list[tuple[str, str]]:
    return [
        (e.kind, e.detail) for e in IncidentEvent.objects.filter(incident=incident).order_by("id")
    ]


def test_open_acknowledge_resolve_page_one_alert_on_the_components_service(
    pagerduty: FakePagerDuty, paging: dict[str, str]
) -> None:
    incident = open_incident("payments_api", "P0")
    alert = pagerduty.alerts[(paging["Payments"], "health:payments_api")]
    assert (alert.status, alert.severity) == ("triggered", "critical")
    assert alert.summary == "[P0] payments_api is DOWN"
    trigger = pagerduty.accepted[0]
    assert trigger["payload"]["component"] == "payments_api"
    assert trigger["payload"]["group"] == "Payments"
    assert trigger["payload"]["custom_details"]["incident"] == incident.pk
    assert trigger["payload"]["timestamp"] == incident.detected_at.isoformat()

    service.acknowledge(incident, by="alice")
    assert alert.status == "acknowledged"
    service.resolve(incident, by="alice")
    assert alert.status == "resolved"

    assert alert.events == ["trigger", "acknowledge", "resolve"]
    assert len(pagerduty.enqueued()) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    paged = [d for k, d in timeline(incident) if k == "paged"]
    assert paged == [f"pagerduty: {k} delivered" for k in ("opened", "acknowledged", "resolved")]


@pytest.mark.parametrize(
    ("severity", "pagerduty_severity"),
    [("P0", "critical"), ("P1", "error"), ("P2", "warning"), ("P3", "info")],
)
def test_each_severity_pages_at_its_pagerduty_severity(
    pagerduty: FakePagerDuty, paging: dict[str, str], severity: str, pagerduty_severity: str
) -> None:
    open_incident("celery_workers", severity)

    (alert,) = pagerduty.alerts.values()
    assert (alert.routing_key, alert.severity) == (paging["Celery"], pagerduty_severity)


def test_rate_limited_then_accepted_is_paged_once(
    pagerduty: FakePagerDuty, paging: dict[str, str]
) -> None:
    pagerduty.script(429)

    open_incident()

    assert len(pagerduty.enqueued()) == 2
    assert len(pagerduty.accepted) == 1 and len(pagerduty.alerts) == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("sent", 1)


def test_a_refused_page_is_not_retried_and_is_on_the_timeline(
    settings: Any, pagerduty: FakePagerDuty, paging: dict[str, str]
) -> None:
    revoked = "0123456789abcdef0123456789abcdef"  # PagerDuty does not know it
    configure(
        settings,
        **{**settings.NZILA_OPS["PAGERDUTY"], "ROUTING_KEYS": {**paging, "Database": revoked}},
    )

    incident = open_incident()
    retry_deliveries_task.apply().get()
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        retry_deliveries_task.apply().get()

    assert len(pagerduty.enqueued()) == 1 and pagerduty.alerts == {}
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    (failed,) = [d for k, d in timeline(incident) if k == "page_failed"]
    assert "refused" in failed and "HTTP 400" in failed and "routing_key" in failed
    assert revoked not in failed and revoked not in delivery.last_error


def test_server_errors_past_the_bound_leave_the_page_to_the_periodic_retry(
    pagerduty: FakePagerDuty, paging: dict[str, str]
) -> None:
    pagerduty.script(503, 503, 503)

    incident = open_incident()

    assert len(pagerduty.enqueued()) == 3 and pagerduty.alerts == {}
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "HTTP 503" in delivery.last_error and "given up after 3 tries" in delivery.last_error
    assert "page_failed" not in [k for k, _ in timeline(incident)]
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        retry_deliveries_task.apply().get()
    assert len(pagerduty.alerts) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_an_outage_loses_no_page_and_transitions_arrive_in_order_after_it(
    pagerduty: FakePagerDuty, paging: dict[str, str]
) -> None:
    pagerduty.outage = True
    incident = open_incident()
    service.acknowledge(incident, by="alice")
    assert pagerduty.accepted == []
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["pending", "pending"]

    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        retry_deliveries_task.apply().get()  # still down
    pagerduty.outage = False
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        retry_deliveries_task.apply().get()
        retry_deliveries_task.apply().get()

    (alert,) = pagerduty.alerts.values()
    assert alert.events == ["trigger", "acknowledge"] and alert.status == "acknowledged"
    assert [e["event_action"] for e in pagerduty.accepted] == ["trigger", "acknowledge"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_without_routing_keys_paging_is_skipped_and_said_so(
    settings: Any, pagerduty: FakePagerDuty, paging: dict[str, str]
) -> None:
    configure(settings, EVENTS_URL=pagerduty.events_url)

    incident = open_incident()

    assert pagerduty.requests == []
    assert list(Delivery.objects.values_list("status", flat=True)) == ["skipped"]
    assert ("note", "pagerduty is not configured: this incident is not sent there") in timeline(
        incident
    )


def test_a_service_without_a_routing_key_fails_the_page_for_good_saying_which(
    settings: Any, pagerduty: FakePagerDuty, paging: dict[str, str]
) -> None:
    configure(
        settings, EVENTS_URL=pagerduty.events_url, ROUTING_KEYS={"Database": paging["Database"]}
    )

    incident = open_incident("auth_api", "P1")

    assert pagerduty.requests == []
    (failed,) = [d for k, d in timeline(incident) if k == "page_failed"]
    assert "no routing key for PagerDuty service 'Auth'" in failed
    assert "ROUTING_KEYS" in failed


def test_a_drill_says_so_on_the_page(pagerduty: FakePagerDuty, paging: dict[str, str]) -> None:
    open_incident("redis", "P2", is_drill=True)

    (alert,) = pagerduty.alerts.values()
    assert alert.routing_key == paging["Infrastructure"]
    assert alert.summary == "[DRILL] [P2] redis is DOWN"
    assert pagerduty.accepted[0]["payload"]["custom_details"]["drill"] is True


def test_a_raised_severity_and_a_reopening_trigger_the_same_dedup_key_again(
    pagerduty: FakePagerDuty, paging: dict[str, str]
) -> None:
    incident = open_incident("database", "P2")
    service.set_severity(incident, "P0", by="alice")
    service.resolve(incident, by="alice")
    service.reopen(incident, by="alice", source="manual")

    assert [
        (e["event_action"], e.get("payload", {}).get("severity")) for e in pagerduty.accepted
    ] == [
        ("trigger", "warning"),
        ("trigger", "critical"),
        ("resolve", None),
        ("trigger", "critical"),
    ]
    assert {e["dedup_key"] for e in pagerduty.accepted} == {"health:database"}
    (alert,) = pagerduty.alerts.values()
    # PagerDuty opens a new alert for a trigger after a resolve: the reopened incident pages.
    assert alert.status == "triggered" and alert.severity == "critical"


def test_an_incident_the_database_could_not_record_is_still_paged_saying_so(
    pagerduty: FakePagerDuty, paging: dict[str, str]
) -> None:
    incident = Incident(
        key="backup:default",
        component="backup:default",
        severity="P1",
        source="backup",
        title="Backup of 'default' FAILED",
        detected_at=timezone.now(),
    )

    assert deliver_unrecorded(incident, "could not connect to server") == 1

    (alert,) = pagerduty.alerts.values()
    assert alert.routing_key == paging["Infrastructure"]
    assert alert.summary == "[P1] Backup of 'default' FAILED (NOT RECORDED)"
    assert "could not connect" in pagerduty.accepted[0]["payload"]["custom_details"]["detail"]
    assert Incident.objects.count() == 0
