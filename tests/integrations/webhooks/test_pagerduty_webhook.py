"""PagerDuty v3 webhooks: a responder's acknowledgement, resolution or reopening in PagerDuty
changes our incident once, however often PagerDuty delivers it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from nzila_ops.incidents import service
from nzila_ops.models import Incident, IncidentEvent
from tests.integrations.webhooks.conftest import post_pagerduty
from tests.integrations.webhooks.payloads import (
    PAGERDUTY_NEW_SECRET,
    PAGERDUTY_SECRET,
    pagerduty_event,
)

pytestmark = pytest.mark.django_db

DETECTED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ACKED = "2026-03-02T10:03:30.169Z"


def open_database_incident() -> Incident:
    incident, created = service.open_incident(
        key="database", component="database", severity="P0", source="health",
        title="database is DOWN", detected_at=DETECTED,
    )  # fmt: skip
    assert created
    return incident


def kinds(incident: Incident) -> list[str]:
    """The incident's transitions (not the receipts of deliveries, nor its pages)."""
    return list(
        incident.events.exclude(kind__in=["note", "paged", "page_failed"]).values_list(
            "kind", flat=True
        )
    )


def receipts(incident: Incident) -> list[str]:
    return list(incident.events.filter(kind="note").values_list("detail", flat=True))


def test_an_acknowledgement_in_pagerduty_acknowledges_our_incident(
    webhook_settings: Any, client: Client
) -> None:
    incident = open_database_incident()

    response = post_pagerduty(
        client, pagerduty_event("incident.acknowledged", "database", occurred_at=ACKED)
    )

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "result": "acknowledged", "incident": incident.pk}
    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    assert incident.acknowledged_by == "Tenex Engineer"
    assert incident.acknowledged_at == datetime(2026, 3, 2, 10, 3, 30, 169000, tzinfo=UTC)
    assert incident.seconds_to_acknowledge == 210.169
    event = incident.events.get(kind="acknowledged")
    assert event.source == "pagerduty"


def test_a_resolution_in_pagerduty_resolves_our_incident(
    webhook_settings: Any, client: Client
) -> None:
    incident = open_database_incident()

    response = post_pagerduty(client, pagerduty_event("incident.resolved", "database"))

    assert response.json()["result"] == "resolved"
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.resolved_by == "Tenex Engineer"


def test_a_reopening_in_pagerduty_reopens_our_resolved_incident(
    webhook_settings: Any, client: Client
) -> None:
    incident = open_database_incident()
    service.resolve(incident, by="ada", source="manual")

    response = post_pagerduty(client, pagerduty_event("incident.reopened", "database"))

    assert response.json()["result"] == "reopened"
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert service.find_open("database") == incident


@pytest.mark.parametrize(
    ("configured", "signed_with"),
    [
        # Rotation: both secrets configured while PagerDuty signs with the old, both, the new.
        ([PAGERDUTY_SECRET, PAGERDUTY_NEW_SECRET], (PAGERDUTY_SECRET,)),
        ([PAGERDUTY_SECRET, PAGERDUTY_NEW_SECRET], (PAGERDUTY_SECRET, PAGERDUTY_NEW_SECRET)),
        ([PAGERDUTY_SECRET, PAGERDUTY_NEW_SECRET], (PAGERDUTY_NEW_SECRET,)),
        # PagerDuty rotated first: one of its two signatures is of the secret we have.
        ([PAGERDUTY_NEW_SECRET], (PAGERDUTY_SECRET, PAGERDUTY_NEW_SECRET)),
        # A comma-separated string (an environment variable) is a list.
        (f"{PAGERDUTY_SECRET}, {PAGERDUTY_NEW_SECRET}", (PAGERDUTY_NEW_SECRET,)),
    ],
)
def test_a_signature_of_any_configured_secret_is_accepted_during_rotation(
    webhook_settings: Any, client: Client, configured: Any, signed_with: tuple[str, ...]
) -> None:
    webhook_settings.NZILA_OPS = {
        **webhook_settings.NZILA_OPS,
        "WEBHOOKS": {**webhook_settings.NZILA_OPS["WEBHOOKS"], "PAGERDUTY_SECRETS": configured},
    }
    open_database_incident()

    response = post_pagerduty(
        client, pagerduty_event("incident.acknowledged", "database"), secrets=signed_with
    )

    assert response.status_code == 200
    assert response.json()["result"] == "acknowledged"


def test_a_retired_secret_is_refused(webhook_settings: Any, client: Client) -> None:
    webhook_settings.NZILA_OPS = {
        **webhook_settings.NZILA_OPS,
        "WEBHOOKS": {**webhook_settings.NZILA_OPS["WEBHOOKS"],
                     "PAGERDUTY_SECRETS": [PAGERDUTY_NEW_SECRET]},
    }  # fmt: skip
    incident = open_database_incident()

    response = post_pagerduty(client, pagerduty_event("incident.acknowledged", "database"))

    assert response.status_code == 401
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert kinds(incident) == ["opened"]


def test_a_webhook_delivered_twice_acknowledges_once(webhook_settings: Any, client: Client) -> None:
    incident = open_database_incident()
    event = pagerduty_event("incident.acknowledged", "database")

    first = post_pagerduty(client, event, webhook_id="01DA2MLYN0J5EFC1LKWXUKDDKT")
    second = post_pagerduty(client, event, webhook_id="01DA2MLYN0J5EFC1LKWXUKDDKT")

    assert first.json()["result"] == "acknowledged"
    assert second.status_code == 200
    assert second.json() == {"status": "ok", "result": "duplicate"}
    assert kinds(incident) == ["opened", "acknowledged"]
    # The receipt on the timeline says which delivery made the change.
    assert receipts(incident) == [
        "webhook delivery pagerduty:01DA2MLYN0J5EFC1LKWXUKDDKT\nacknowledged"
    ]


def test_a_late_replay_does_not_undo_what_happened_since(
    webhook_settings: Any, client: Client
) -> None:
    # Resolved in PagerDuty, then reopened there: a second delivery of the resolution must not
    # resolve the reopened incident (each transition alone would allow it).
    incident = open_database_incident()
    resolved = pagerduty_event("incident.resolved", "database", event_id="E1")
    post_pagerduty(client, resolved, webhook_id="W-RESOLVED")
    post_pagerduty(client, pagerduty_event("incident.reopened", "database", event_id="E2"),
                   webhook_id="W-REOPENED")  # fmt: skip

    replay = post_pagerduty(client, resolved, webhook_id="W-RESOLVED")

    assert replay.json()["result"] == "duplicate"
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert kinds(incident) == ["opened", "resolved", "reopened"]


def test_an_acknowledgement_of_an_incident_already_acknowledged_here_changes_nothing(
    webhook_settings: Any, client: Client
) -> None:
    incident = open_database_incident()
    service.acknowledge(incident, by="ada", source="manual")

    response = post_pagerduty(client, pagerduty_event("incident.acknowledged", "database"))
    replay = post_pagerduty(client, pagerduty_event("incident.acknowledged", "database"))

    assert response.json()["result"] == "unchanged"
    assert replay.json()["result"] == "duplicate"
    incident.refresh_from_db()
    assert incident.acknowledged_by == "ada"
    assert kinds(incident) == ["opened", "acknowledged"]
    # The delivery's receipt is what recognises its replay after the incident moved on.
    assert len(receipts(incident)) == 1


def test_an_incident_that_is_not_ours_is_ignored(webhook_settings: Any, client: Client) -> None:
    open_database_incident()

    unknown = post_pagerduty(
        client, pagerduty_event("incident.acknowledged", "d3640fbd41094207a1c11e58e46b1662")
    )
    keyless = post_pagerduty(client, pagerduty_event("incident.resolved", None),
                             webhook_id="another")  # fmt: skip

    assert unknown.status_code == keyless.status_code == 200
    assert unknown.json()["result"] == keyless.json()["result"] == "ignored"
    assert Incident.objects.get().status == "triggered"


@pytest.mark.parametrize(
    "event_type",
    ["incident.triggered", "incident.escalated", "incident.annotated", "incident.unacknowledged",
     "incident.priority_updated", "service.updated", "pagey.ping"],
)  # fmt: skip
def test_other_event_types_are_answered_and_change_nothing(
    webhook_settings: Any, client: Client, event_type: str
) -> None:
    incident = open_database_incident()

    response = post_pagerduty(client, pagerduty_event(event_type, "database"))

    assert response.status_code == 200
    assert response.json()["result"] == "ignored"
    assert kinds(incident) == ["opened"]


def test_without_x_webhook_id_the_event_id_identifies_the_delivery(
    webhook_settings: Any, client: Client
) -> None:
    incident = open_database_incident()
    event = pagerduty_event("incident.acknowledged", "database", event_id="EVT-1")

    post_pagerduty(client, event, webhook_id=None)
    replay = post_pagerduty(client, event, webhook_id=None)

    assert replay.json()["result"] == "duplicate"
    assert kinds(incident) == ["opened", "acknowledged"]


def test_an_acknowledgement_dated_in_the_future_is_dated_now(
    webhook_settings: Any, client: Client
) -> None:
    incident = open_database_incident()

    post_pagerduty(
        client,
        pagerduty_event("incident.acknowledged", "database", occurred_at="2999-01-01T00:00:00Z"),
    )

    incident.refresh_from_db()
    assert incident.acknowledged_at is not None
    assert incident.acknowledged_at.year < 2999


@pytest.mark.django_db(transaction=True)
def test_one_webhook_delivered_twice_at_once_acknowledges_once(webhook_settings: Any) -> None:
    incident = open_database_incident()
    event = pagerduty_event("incident.acknowledged", "database")
    results: list[str] = []

    def deliver() -> None:
        try:
            response = post_pagerduty(Client(), event, webhook_id="W-SAME")
            results.append(response.json()["result"])
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    # Hold the incident's row so that both deliveries are in flight together: each has passed
    # whatever it checks before it writes, and waits (on the row, or on the other delivery).
    with transaction.atomic():
        Incident.objects.select_for_update().get(pk=incident.pk)
        for thread in threads:
            thread.start()
        wait_for_waiting_sessions(2)
    for thread in threads:
        thread.join()

    assert sorted(results) == ["acknowledged", "duplicate"]
    assert IncidentEvent.objects.filter(incident=incident, kind="acknowledged").count() == 1
    assert kinds(incident) == ["opened", "acknowledged"]
    assert len(receipts(incident)) == 1


def wait_for_waiting_sessions(count: int) -> None:
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.02)
    raise AssertionError(f"{count} sessions never waited on a lock")
