"""The incident lifecycle: each transition once, with its event and its deliveries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from nzila_ops.events import Severity
from nzila_ops.exceptions import InvalidArgument
from nzila_ops.incidents import service
from nzila_ops.models import Delivery, Incident, IncidentEvent

pytestmark = pytest.mark.postgres


def kinds(incident: Incident) -> list[str]:
    """The timeline's transitions (each e-mail sent adds a 'paged' line, left out here)."""
    return list(incident.events.exclude(kind="paged").values_list("kind", flat=True))


def open_one(**overrides: Any) -> tuple[Incident, bool]:
    fields = {"key": "database", "component": "database", "severity": "P0", "source": "health",
              "title": "database is DOWN"}  # fmt: skip
    return service.open_incident(**{**fields, **overrides})


def test_opening_records_when_the_fault_was_first_seen(transactional_db: Any) -> None:
    seen = timezone.now() - timedelta(minutes=2)
    incident, opened = open_one(detected_at=seen, detail="Error: connection refused")
    assert opened and incident.status == "triggered" and incident.severity == "P0"
    assert incident.detected_at == seen
    assert kinds(incident) == ["opened"]
    assert incident.events.get(kind="opened").detail == "Error: connection refused"


def test_opening_an_open_key_again_repeats_it_and_notifies_nobody(transactional_db: Any) -> None:
    first, _ = open_one()
    again, opened = open_one(detail="still refused")
    assert not opened and again.pk == first.pk
    assert kinds(first) == ["opened", "repeated"]
    assert Incident.objects.count() == 1
    assert Delivery.objects.filter(event__kind="repeated").count() == 0


def test_a_more_severe_repeat_raises_the_severity_and_says_so(transactional_db: Any) -> None:
    first, _ = open_one(severity="P3", title="disk is degraded", key="disk", component="disk")
    open_one(severity=Severity.P1, key="disk", component="disk")
    first.refresh_from_db()
    assert first.severity == "P1"
    assert kinds(first) == ["opened", "repeated", "severity_changed"]
    assert first.events.get(kind="severity_changed").detail == "P3 -> P1"
    open_one(severity="P2", key="disk", component="disk")  # less severe: it stays P1
    first.refresh_from_db()
    assert first.severity == "P1"


def test_each_transition_happens_once(transactional_db: Any) -> None:
    incident, _ = open_one()
    assert service.acknowledge(incident, by="alice")
    assert not service.acknowledge(incident, by="bob")
    assert incident.acknowledged_by == "alice" and incident.acknowledged_at is not None
    assert service.resolve(incident.pk, by="carol")
    assert not service.resolve(incident.pk, by="dave")
    assert not service.acknowledge(incident, by="erin")  # resolved: nothing to acknowledge
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_by == "carol"
    assert service.reopen(incident, by="frank", source="manual")
    assert not service.reopen(incident, by="frank", source="manual")
    assert incident.status == "triggered" and incident.resolved_at is None
    assert incident.acknowledged_at is None  # a reopened incident needs a new acknowledgement
    assert kinds(incident) == ["opened", "acknowledged", "resolved", "reopened"]


def test_resolving_lets_the_key_open_a_new_incident(transactional_db: Any) -> None:
    first, _ = open_one()
    assert service.resolve_key("database", by="nzila_ops", source="health")
    assert not service.resolve_key("database", by="nzila_ops", source="health")
    second, opened = open_one()
    assert opened and second.pk != first.pk
    assert service.find_open("database") == second


def test_a_resolved_incident_cannot_reopen_while_its_key_has_another_open(
    transactional_db: Any,
) -> None:
    first, _ = open_one()
    service.resolve(first, by="alice")
    open_one()
    assert not service.reopen(first, by="bob", source="manual")
    first.refresh_from_db()
    assert first.status == "resolved"


def test_notes_are_appended_and_never_delivered(transactional_db: Any) -> None:
    incident, _ = open_one()
    mail.outbox.clear()
    note = service.add_note(incident, by="alice", text="  failing over to the replica ")
    assert note.detail == "failing over to the replica" and note.actor == "alice"
    assert mail.outbox == []
    with pytest.raises(InvalidArgument, match="needs some text"):
        service.add_note(incident, by="alice", text="   ")


def test_unknown_sources_and_incidents_are_refused(transactional_db: Any) -> None:
    with pytest.raises(InvalidArgument, match="source 'pager' is not one of"):
        open_one(source="pager")
    with pytest.raises(InvalidArgument, match="no incident #999"):
        service.acknowledge(999, by="alice")
    with pytest.raises(InvalidArgument, match="severity 'P9' is not one of P0, P1, P2, P3"):
        open_one(severity="P9")
    assert not Incident.objects.exists() and not IncidentEvent.objects.exists()


def test_an_operator_changes_the_severity_once(transactional_db: Any) -> None:
    incident, _ = open_one(severity="P2")
    assert service.set_severity(incident, "P0", by="alice")
    assert not service.set_severity(incident.pk, Severity.P0, by="bob")
    incident.refresh_from_db()
    assert incident.severity == "P0"
    change = incident.events.get(kind="severity_changed")
    assert (change.detail, change.actor, change.severity) == ("P2 -> P0", "alice", "P0")
    assert (
        mail.outbox[-1].subject
        == f"[nzila_ops] P0 incident #{incident.pk} now P0: database is DOWN"
    )
    service.resolve(incident, by="alice")
    assert not service.set_severity(incident, "P3", by="alice")  # resolved: it stays as it was
