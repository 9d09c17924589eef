"""Incident transitions reach each configured notifier once: retried when the notifier fails
for a while, recorded when it fails for good, never delivered twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone

from nzila_ops.incidents import service
from nzila_ops.incidents.notifiers import send_delivery, send_due
from nzila_ops.models import Delivery, Incident
from nzila_ops.tasks import retry_deliveries_task
from tests.incidents.backends import BlockingNotifier, RecordingNotifier

pytestmark = pytest.mark.postgres
RECORDING = "tests.incidents.backends.RecordingNotifier"


@pytest.fixture
def recording(settings: Any) -> Iterator[type[RecordingNotifier]]:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "INCIDENT_NOTIFIERS": [RECORDING],
                          "INCIDENT_DELIVERY_RETRY_SECONDS": 60,
                          "INCIDENT_DELIVERY_MAX_ATTEMPTS": 3}  # fmt: skip
    RecordingNotifier.reset()
    yield RecordingNotifier
    RecordingNotifier.reset()


def open_database_incident() -> Incident:
    incident, _ = service.open_incident(
        key="database", component="database", severity="P0", source="health",
        title="database is DOWN",
    )  # fmt: skip
    return incident


def test_each_transition_is_delivered_once_in_order(
    transactional_db: Any, recording: type[RecordingNotifier]
) -> None:
    incident = open_database_incident()
    open_database_incident()  # repeated: not a transition
    service.acknowledge(incident, by="alice")
    service.acknowledge(incident, by="alice")
    service.resolve(incident, by="alice")
    assert recording.delivered == [
        (incident.pk, "opened"), (incident.pk, "acknowledged"), (incident.pk, "resolved"),
    ]  # fmt: skip
    assert send_due(timezone.now() + timedelta(days=1)) == {}  # nothing left to send
    assert recording.attempts == 3
    assert list(Delivery.objects.values_list("status", flat=True)) == ["sent"] * 3


def test_a_transient_failure_is_retried_by_the_periodic_task_and_delivered_once(
    transactional_db: Any, recording: type[RecordingNotifier]
) -> None:
    recording.reset(failures=[True])
    incident = open_database_incident()
    assert recording.delivered == []
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_error == "503 Service Unavailable"
    retry_deliveries_task.apply().get()  # not due yet: the backoff is 60 s
    assert recording.attempts == 1
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        retry_deliveries_task.apply().get()
        retry_deliveries_task.apply().get()
    assert recording.delivered == [(incident.pk, "opened")]
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 2 and delivery.last_error == ""


def test_a_later_transition_waits_for_an_earlier_one_that_has_not_gone_out(
    transactional_db: Any, recording: type[RecordingNotifier]
) -> None:
    recording.reset(failures=[True])
    incident = open_database_incident()
    service.resolve(incident, by="alice")
    assert recording.delivered == []  # a resolve must not overtake its trigger
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        retry_deliveries_task.apply().get()
    assert recording.delivered == [(incident.pk, "opened"), (incident.pk, "resolved")]


def test_giving_up_is_recorded_on_the_timeline(
    transactional_db: Any, recording: type[RecordingNotifier]
) -> None:
    recording.reset(failures=[True, True, True, True])
    incident = open_database_incident()
    for minutes in (2, 5):  # 60 s, then 120 s of backoff
        with time_machine.travel(timezone.now() + timedelta(minutes=minutes)):
            send_due()
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 3
    failed = incident.events.get(kind="page_failed")
    assert failed.detail == (
        "recording: opened not delivered (gave up after 3 attempts): 503 Service Unavailable"
    )
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert send_due() == {}
    assert recording.attempts == 3


def test_a_permanent_failure_is_not_retried(
    transactional_db: Any, recording: type[RecordingNotifier]
) -> None:
    recording.reset(failures=[False])
    incident = open_database_incident()
    assert Delivery.objects.get().status == "failed"
    assert "(refused): 400 bad key" in incident.events.get(kind="page_failed").detail
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        send_due()
    assert recording.attempts == 1


def test_an_unconfigured_notifier_is_skipped_and_said_so(
    transactional_db: Any, settings: Any, recording: type[RecordingNotifier]
) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "INCIDENT_NOTIFIERS": [
        RECORDING, "tests.incidents.backends.UnconfiguredNotifier"]}  # fmt: skip
    incident = open_database_incident()
    service.resolve(incident, by="alice")
    skipped = Delivery.objects.filter(notifier="unconfigured")
    assert list(skipped.values_list("status", flat=True)) == ["skipped", "skipped"]
    notes = incident.events.filter(kind="note").values_list("detail", flat=True)
    assert list(notes) == ["unconfigured is not configured: this incident is not sent there"]
    assert recording.delivered == [(incident.pk, "opened"), (incident.pk, "resolved")]


def test_the_email_notifier_mails_each_transition_once(transactional_db: Any) -> None:
    incident = open_database_incident()
    open_database_incident()
    service.acknowledge(incident, by="alice")
    service.acknowledge(incident, by="bob")
    service.resolve(incident, by="alice")
    service.resolve(incident, by="alice")
    n = incident.pk
    assert [m.subject for m in mail.outbox] == [
        f"[nzila_ops] P0 incident #{n} opened: database is DOWN",
        f"[nzila_ops] P0 incident #{n} acknowledged by alice: database is DOWN",
        f"[nzila_ops] P0 incident #{n} resolved by alice: database is DOWN",
    ]
    assert mail.outbox[0].to == ["ops@example.com"]
    assert "Component: database" in mail.outbox[2].body and "by alice" in mail.outbox[2].body


def test_two_workers_retrying_at_once_deliver_once(transactional_db: Any, settings: Any) -> None:
    settings.NZILA_OPS = {
        **settings.NZILA_OPS,
        "INCIDENT_NOTIFIERS": ["tests.incidents.backends.BlockingNotifier"],
    }
    BlockingNotifier.reset()
    incident = open_database_incident()  # the first attempt fails: pending, due in 60 s
    later = timezone.now() + timedelta(seconds=61)
    outcomes: list[dict] = []

    def worker() -> None:
        try:
            outcomes.append(send_due(later))
        finally:
            connection.close()

    first = threading.Thread(target=worker)
    first.start()
    try:
        assert BlockingNotifier.entered.wait(30)  # the first worker is sending it
        # A second worker (the periodic task firing again) finds nothing due, and one that
        # read the row before the claim (the task queued at commit) finds it taken.
        assert send_due(later) == {}
        assert send_delivery(Delivery.objects.get().pk, later) == "busy"
    finally:
        BlockingNotifier.release.set()
        first.join()
    assert [list(o.values()) for o in outcomes] == [["sent"]]
    assert BlockingNotifier.delivered == [(incident.pk, "opened")]
    delivery = Delivery.objects.get()
    assert delivery.status == "sent" and delivery.attempts == 2
    assert send_due(later + timedelta(hours=1)) == {}
