"""run_alert_drill: the page goes out, the acknowledgement comes back, or the drill is a real
incident. PagerDuty is the local server speaking Events API v2; the responder's acknowledgement
comes back as PagerDuty's v3 webhook, posted from another thread while the drill waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops.exceptions import ConfigurationError, InvalidArgument
from nzila_ops.incidents import service
from nzila_ops.incidents.drill import format_seconds, parse_wait, run_alert_drill
from nzila_ops.models import Incident
from nzila_ops.schedules import desired_entries
from tests.incidents.backends import RecordingNotifier
from tests.integrations.pagerduty.conftest import configure, pagerduty  # noqa: F401  (a fixture)
from tests.integrations.webhooks.conftest import post_pagerduty, webhook_settings  # noqa: F401
from tests.integrations.webhooks.payloads import pagerduty_event
from tests.support.fake_pagerduty import FakePagerDuty

pytestmark = pytest.mark.django_db(transaction=True)
PAGERDUTY = "nzila_ops.integrations.pagerduty.notifier.PagerDutyNotifier"
RECORDING = "tests.incidents.backends.RecordingNotifier"
SERVICES = ("API", "Database", "Payments", "Celery", "Auth", "Infrastructure")


@pytest.fixture
def paging(webhook_settings: Any, pagerduty: FakePagerDuty) -> FakePagerDuty:  # noqa: F811
    """Incidents page the local PagerDuty (and nothing else); its webhooks are accepted."""
    keys = {name: pagerduty.add_routing_key() for name in SERVICES}
    webhook_settings.NZILA_OPS = {**webhook_settings.NZILA_OPS, "INCIDENT_NOTIFIERS": [PAGERDUTY]}
    configure(webhook_settings, EVENTS_URL=pagerduty.events_url, ROUTING_KEYS=keys,
              BACKOFF_SECONDS=0.001, BACKOFF_MAX_SECONDS=0.01)  # fmt: skip
    return pagerduty


@pytest.fixture
def recording(settings: Any) -> Iterator[None]:
    RecordingNotifier.reset()
    settings.NZILA_OPS = {**settings.NZILA_OPS, "INCIDENT_NOTIFIERS": [RECORDING]}
    yield
    RecordingNotifier.reset()


def drill(*args: str) -> str:
    out = StringIO()
    call_command("run_alert_drill", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def responder_acknowledges(fake: FakePagerDuty, sent: list[datetime]) -> threading.Thread:
    """The on-call engineer: once the page is up in PagerDuty, acknowledges it there, and
    PagerDuty's webhook tells us, with the time it happened (appended to ``sent``)."""

    def respond() -> None:
        try:
            for _ in range(600):
                if fake.alerts:
                    break
                time.sleep(0.05)
            (_, dedup_key), _alert = next(iter(fake.alerts.items()))
            sent.append(timezone.now())
            at = sent[0].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            event = pagerduty_event("incident.acknowledged", dedup_key, occurred_at=at,
                                    agent="Ada Lovelace", event_id="E-ack")  # fmt: skip
            post_pagerduty(Client(enforce_csrf_checks=True), event, webhook_id="W-ack")
        finally:
            connection.close()

    thread = threading.Thread(target=respond, daemon=True)
    thread.start()
    return thread


def test_a_drill_acknowledged_in_pagerduty_passes_with_the_measured_time_on_the_timeline(
    paging: FakePagerDuty,
) -> None:
    sent: list[datetime] = []
    responder = responder_acknowledges(paging, sent)
    out = drill("--wait", "60s", "--by", "grace")
    responder.join(10)
    incident = Incident.objects.get()
    # The time to acknowledge is PagerDuty's: from the page to the responder's acknowledgement.
    assert incident.acknowledged_at == sent[0]
    measured = format_seconds((sent[0] - incident.detected_at).total_seconds())
    assert out == (
        f"alert drill PASSED: incident #{incident.pk} acknowledged by Ada Lovelace in "
        f"{measured} (page: pagerduty sent)\n"
    )
    assert incident.is_drill and incident.component == "alert_drill"
    assert (incident.source, incident.severity, incident.status) == ("manual", "P2", "resolved")
    note = incident.events.get(kind="note", actor="nzila_ops")
    assert note.detail == (
        f"alert drill PASSED: acknowledged by Ada Lovelace {measured} after the page"
    )
    # PagerDuty got the drill page and, once done, our resolution (the acknowledgement came
    # from PagerDuty, so it is not sent back there): nothing is left open on the on-call's phone.
    [alert] = paging.alerts.values()
    assert alert.summary == "[DRILL] [P2] Alert-path drill: please acknowledge this page"
    assert (alert.severity, alert.events, alert.status) == (
        "warning", ["trigger", "resolve"], "resolved",
    )  # fmt: skip


def test_an_unacknowledged_drill_fails_and_becomes_a_real_p1_incident_that_pages_again(
    paging: FakePagerDuty,
) -> None:
    with pytest.raises(CommandError) as raised:
        drill("--wait", "1s")
    incident = Incident.objects.get()
    assert raised.value.returncode == 1
    assert str(raised.value) == (
        f"alert drill FAILED: incident #{incident.pk} not acknowledged within 1 s (page: "
        "pagerduty sent); it is now a real P1 incident"
    )
    assert not incident.is_drill
    assert (incident.severity, incident.status) == ("P1", "triggered")
    assert incident.title == "Alert path FAILED its drill: no acknowledgement within 1 s"
    why = incident.events.get(kind="note", actor="nzila_ops").detail
    assert why.startswith("alert drill FAILED: not acknowledged within 1 s (deliveries of the "
                          "page: pagerduty sent). The alert path is broken")  # fmt: skip
    assert incident.events.get(kind="severity_changed").detail == "P2 -> P1"
    # The page is raised to PagerDuty's "error" and no longer says it is a drill.
    [alert] = paging.alerts.values()
    assert alert.events == ["trigger", "trigger"] and alert.severity == "warning"
    escalation = paging.accepted[-1]["payload"]
    assert escalation["severity"] == "error" and escalation["summary"].startswith("[P1] Alert")
    # Its key stays taken until someone resolves it: no new drill pages over a broken path.
    with pytest.raises(CommandError) as raised:
        drill("--wait", "1s")
    error = raised.value
    assert error.returncode == 2 and f"incident #{incident.pk} of an earlier alert" in str(error)


def test_a_failed_p0_drill_keeps_its_severity(recording: None) -> None:
    outcome = run_alert_drill(severity="P0", wait_seconds=0.2, poll_seconds=0.05)
    incident = Incident.objects.get()
    assert not outcome.passed and outcome.severity == "P0"
    assert incident.severity == "P0" and not incident.is_drill
    assert not incident.events.filter(kind="severity_changed").exists()
    assert outcome.deliveries == {"recording": "sent"}


def test_an_acknowledgement_through_the_service_from_another_thread_passes(
    recording: None,
) -> None:
    def acknowledge() -> None:
        try:
            for _ in range(600):
                found = Incident.objects.filter(component="alert_drill").first()
                if found is not None:
                    service.acknowledge(found, by="linus", source="manual")
                    return
                time.sleep(0.05)
        finally:
            connection.close()

    thread = threading.Thread(target=acknowledge, daemon=True)
    thread.start()
    outcome = run_alert_drill(wait_seconds=60, poll_seconds=0.05, by="ops")
    thread.join(10)
    incident = Incident.objects.get()
    assert outcome.passed and outcome.acknowledged_by == "linus"
    assert incident.status == "resolved" and incident.is_drill
    # The page went out once, and each transition after it once.
    assert [kind for _, kind in RecordingNotifier.delivered] == [
        "opened", "acknowledged", "resolved",
    ]  # fmt: skip


def test_a_page_that_did_not_go_out_is_said_so_even_when_acknowledged(
    recording: None,
) -> None:
    RecordingNotifier.reset(failures=[False])  # the opening is refused for good
    acknowledged = []

    def someone_acknowledges_anyway(seconds: float) -> None:
        if not acknowledged:
            incident = Incident.objects.get()
            acknowledged.append(service.acknowledge(incident, by="ken", source="manual"))

    outcome = run_alert_drill(wait_seconds=60, sleep=someone_acknowledges_anyway)
    assert outcome.passed and outcome.deliveries == {"recording": "failed"}
    note = Incident.objects.get().events.get(kind="note", actor="nzila_ops").detail
    assert note.endswith("; not delivered through recording (failed)")


def test_an_interrupted_drill_is_resolved_and_says_so(recording: None) -> None:
    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_alert_drill(wait_seconds=60, sleep=interrupt, by="ada")
    incident = Incident.objects.get()
    assert incident.status == "resolved" and incident.is_drill
    assert incident.events.filter(kind="note", detail__contains="abandoned").exists()


def test_a_drill_that_would_page_nobody_is_refused_and_opens_nothing(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "NOTIFY_EMAILS": [], "INCIDENT_NOTIFIERS": [
        "nzila_ops.notify.email.EmailIncidentNotifier"]}  # fmt: skip
    settings.ADMINS = []
    with pytest.raises(CommandError) as raised:
        drill("--wait", "1s")
    error = raised.value
    assert error.returncode == 2 and str(error).endswith("an alert drill would page nobody")
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--severity", "P7"], "severity 'P7' is not one of P0, P1, P2, P3"),
        (["--wait", "ten minutes"], "wait 'ten minutes' is not a duration from 1s to 24h"),
        (["--wait", "0s"], "wait '0s' is not a duration"),
        (["--wait", "25h"], "wait '25h' is not a duration"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    recording: None, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError) as raised:
        drill(*args)
    error = raised.value
    assert error.returncode == 2 and str(error).startswith(message)
    assert not Incident.objects.exists()


def test_wait_durations() -> None:
    assert [parse_wait(t) for t in ("10m", "90s", "1h", "600", " 2M ")] == [600, 90, 3600, 600, 120]
    with pytest.raises(InvalidArgument):
        parse_wait("-5m")
    assert [format_seconds(s) for s in (45, 134, 3780)] == ["45 s", "2 min 14 s", "1 h 3 min"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    option=st.sampled_from(["--severity", "--wait", "--by"]),
    value=st.one_of(st.text(max_size=40), st.sampled_from(["\x00", "\udc80", "9" * 400, "-1s"])),
)
def test_any_argument_is_refused_in_one_line_never_a_crash(
    settings: Any, option: str, value: str
) -> None:
    # No notifier can page: whatever passes the argument checks is refused next, so no example
    # waits, and none may open anything.
    settings.NZILA_OPS = {**settings.NZILA_OPS, "INCIDENT_NOTIFIERS": []}
    try:
        drill(option, value)
    except CommandError as exc:
        assert str(exc) and "\n" not in str(exc) and exc.returncode in (1, 2)
    except SystemExit as exc:  # argparse on a value that looks like an option (--help)
        assert exc.code == 0 and value.startswith("-")
    assert not Incident.objects.exists()


def test_the_beat_entry_is_off_by_default_and_installed_when_set(settings: Any) -> None:
    assert not [e for e in desired_entries() if e.task == "nzila_ops.run_alert_drill"]
    settings.NZILA_OPS = {**settings.NZILA_OPS, "ALERT_DRILL_CRON": "0 10 * * 2"}
    [entry] = [e for e in desired_entries() if e.task == "nzila_ops.run_alert_drill"]
    assert (entry.name, entry.cron, entry.args) == ("nzila_ops: alert drill", "0 10 * * 2",
                                                    ("P2", 600))  # fmt: skip
    from nzila_ops.tasks import run_alert_drill_task

    assert run_alert_drill_task.name == "nzila_ops.run_alert_drill"
    settings.NZILA_OPS = {**settings.NZILA_OPS, "ALERT_DRILL_CRON": "weekly"}
    with pytest.raises(ConfigurationError, match="ALERT_DRILL_CRON"):
        desired_entries()
