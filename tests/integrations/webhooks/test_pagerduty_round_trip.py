"""The whole loop: a health flip pages PagerDuty (a local server speaking Events API v2), the
responder acknowledges and resolves there, and PagerDuty's webhooks bring it back to our
incident, found by the dedup_key we paged with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from nzila_ops import signals
from nzila_ops.models import Delivery, Incident
from tests.integrations.pagerduty.conftest import configure, pagerduty  # noqa: F401  (a fixture)
from tests.integrations.webhooks.conftest import post_pagerduty
from tests.integrations.webhooks.payloads import pagerduty_event
from tests.support.fake_pagerduty import FakePagerDuty

pytestmark = pytest.mark.django_db(transaction=True)
NOTIFIER = "nzila_ops.integrations.pagerduty.notifier.PagerDutyNotifier"
SERVICES = ("API", "Database", "Payments", "Celery", "Auth", "Infrastructure")


def test_an_acknowledgement_and_resolution_in_pagerduty_come_back_to_the_paged_incident(
    webhook_settings: Any,
    pagerduty: FakePagerDuty,  # noqa: F811  (the fixture imported above)
    client: Client,
) -> None:
    keys = {name: pagerduty.add_routing_key() for name in SERVICES}
    webhook_settings.NZILA_OPS = {**webhook_settings.NZILA_OPS,
                                  "INCIDENT_NOTIFIERS": [NOTIFIER]}  # fmt: skip
    configure(webhook_settings, EVENTS_URL=pagerduty.events_url, ROUTING_KEYS=keys,
              BACKOFF_SECONDS=0.001, BACKOFF_MAX_SECONDS=0.01)  # fmt: skip
    down = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    signals.component_flipped.send(
        sender=None, component="database", old="ok", new="failing", reason="connection refused",
        critical=True, severity="P0", at=down, detected_at=down,
    )  # fmt: skip
    incident = Incident.objects.get()
    (routing_key, dedup_key), alert = next(iter(pagerduty.alerts.items()))
    assert (routing_key, alert.status) == (keys["Database"], "triggered")

    # What PagerDuty sends when the responder acknowledges, then resolves, that alert's incident.
    acked = post_pagerduty(client, pagerduty_event(
        "incident.acknowledged", dedup_key, event_id="E1", occurred_at="2026-03-02T10:04:00Z",
        agent="Ada Lovelace"), webhook_id="W1")  # fmt: skip
    resolved = post_pagerduty(client, pagerduty_event(
        "incident.resolved", dedup_key, event_id="E2", occurred_at="2026-03-02T10:31:00Z",
        agent="Ada Lovelace"), webhook_id="W2")  # fmt: skip

    assert acked.json() == {"status": "ok", "result": "acknowledged", "incident": incident.pk}
    assert resolved.json()["result"] == "resolved"
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert (incident.acknowledged_by, incident.resolved_by) == ("Ada Lovelace", "Ada Lovelace")
    # MTTA and MTTR are PagerDuty's times: 4 and 31 minutes after the fault was first seen.
    assert (incident.seconds_to_acknowledge, incident.seconds_to_resolve) == (240, 1860)
    # Nothing is sent back: PagerDuty already holds what its responder did there.
    assert [e["event_action"] for e in pagerduty.accepted] == ["trigger"]


def test_what_pagerduty_told_us_is_not_sent_back_to_it_but_is_still_mailed(
    webhook_settings: Any,
    pagerduty: FakePagerDuty,  # noqa: F811  (the fixture imported above)
    client: Client,
    mailoutbox: list[Any],
) -> None:
    keys = {name: pagerduty.add_routing_key() for name in SERVICES}
    webhook_settings.NZILA_OPS = {
        **webhook_settings.NZILA_OPS,
        "INCIDENT_NOTIFIERS": [NOTIFIER, "nzila_ops.notify.email.EmailIncidentNotifier"],
        "NOTIFY_EMAILS": ["oncall@example.com"],
    }
    configure(webhook_settings, EVENTS_URL=pagerduty.events_url, ROUTING_KEYS=keys,
              BACKOFF_SECONDS=0.001, BACKOFF_MAX_SECONDS=0.01)  # fmt: skip
    down = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    signals.component_flipped.send(
        sender=None, component="database", old="ok", new="failing", reason="connection refused",
        critical=True, severity="P0", at=down, detected_at=down,
    )  # fmt: skip
    incident = Incident.objects.get()
    ((_routing_key, dedup_key),) = pagerduty.alerts
    assert [e["event_action"] for e in pagerduty.accepted] == ["trigger"]
    mailoutbox.clear()

    # The responder resolves, then reopens, in PagerDuty.
    for number, (kind, at) in enumerate(
        [("incident.resolved", "10:20"), ("incident.reopened", "10:25")], start=1
    ):
        answer = post_pagerduty(client, pagerduty_event(
            kind, dedup_key, event_id=f"E{number}", occurred_at=f"2026-03-02T{at}:00Z",
            agent="Ada Lovelace"), webhook_id=f"W{number}")  # fmt: skip
        assert answer.status_code == 200, answer.content

    incident.refresh_from_db()
    assert incident.status == "triggered"
    # Nothing went back to PagerDuty: its reopened incident gets no second trigger (a second
    # alert, a second page), nor a resolve of what it resolved itself.
    assert [e["event_action"] for e in pagerduty.accepted] == ["trigger"]
    rows = Delivery.objects.filter(event__incident=incident, event__source="pagerduty")
    assert sorted((d.event.kind, d.notifier, d.status, d.last_error) for d in rows) == [
        ("reopened", "email", "sent", ""),
        ("reopened", "pagerduty", "skipped", "came from PagerDuty"),
        ("resolved", "email", "sent", ""),
        ("resolved", "pagerduty", "skipped", "came from PagerDuty"),
    ]
    # The e-mail recipients still hear of both.
    subjects = [m.subject for m in mailoutbox]
    assert len(subjects) == 2
    assert "resolved by Ada Lovelace" in subjects[0] and "REOPENED" in subjects[1]
