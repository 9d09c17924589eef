"""UptimeRobot alert webhooks: the monitors sync_uptimerobot made open and resolve the incident
of their component, in whichever of its three forms UptimeRobot sends the alert."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from nzila_ops.incidents import service
from nzila_ops.models import Incident
from tests.integrations.webhooks.conftest import UPTIMEROBOT_URL
from tests.integrations.webhooks.payloads import uptimerobot_alert

pytestmark = pytest.mark.django_db

DOWN_AT = 1_772_445_600  # 2026-03-02 10:00:00 UTC
UP_AT = DOWN_AT + 720


def send(client: Client, fields: dict[str, str], form: str = "post") -> Any:
    if form == "get":  # the variables appended to the alert contact's URL
        return client.get(UPTIMEROBOT_URL + "?" + urlencode(fields))
    if form == "json":  # a custom JSON body ("POST value")
        return client.post(UPTIMEROBOT_URL, json.dumps(fields), content_type="application/json")
    if form == "multipart":
        return client.post(UPTIMEROBOT_URL, fields)
    # "Send default variables as POST parameters"
    return client.post(
        UPTIMEROBOT_URL, urlencode(fields), content_type="application/x-www-form-urlencoded"
    )


@pytest.mark.parametrize("form", ["post", "multipart", "get", "json"])
def test_a_monitor_going_down_opens_the_incident_of_its_component(
    webhook_settings: Any, client: Client, form: str
) -> None:
    response = send(client, uptimerobot_alert(1, at=DOWN_AT), form)

    assert response.status_code == 200
    incident = Incident.objects.get()
    assert response.json() == {"status": "ok", "result": "opened", "incident": incident.pk}
    assert (incident.component, incident.key, incident.source) == (
        "database", "database", "uptimerobot")  # fmt: skip
    assert incident.severity == "P0"  # the database's default severity
    assert incident.status == "triggered"
    assert incident.detected_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert incident.title == "UptimeRobot: Nzila: database is down (Keyword Not Exists)"


def test_the_monitor_coming_back_up_resolves_it(webhook_settings: Any, client: Client) -> None:
    send(client, uptimerobot_alert(1, at=DOWN_AT))

    response = send(client, uptimerobot_alert(2, at=UP_AT))

    assert response.json()["result"] == "resolved"
    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert incident.seconds_to_resolve == 720


def test_an_alert_sent_twice_has_one_effect(webhook_settings: Any, client: Client) -> None:
    send(client, uptimerobot_alert(1, at=DOWN_AT))
    send(client, uptimerobot_alert(2, at=UP_AT))

    # The down alert again, after the up: it must not open a second incident.
    replay = send(client, uptimerobot_alert(1, at=DOWN_AT))

    assert replay.json() == {"status": "ok", "result": "duplicate"}
    assert Incident.objects.count() == 1
    assert Incident.objects.get().status == "resolved"


def test_a_new_down_alert_after_recovery_is_a_new_fault(
    webhook_settings: Any, client: Client
) -> None:
    send(client, uptimerobot_alert(1, at=DOWN_AT))
    send(client, uptimerobot_alert(2, at=UP_AT))

    response = send(client, uptimerobot_alert(1, at=UP_AT + 86_400))

    assert response.json()["result"] in ("opened", "reopened")
    assert Incident.objects.exclude(status="resolved").count() == 1


def test_the_alert_of_a_component_already_down_here_joins_its_incident(
    webhook_settings: Any, client: Client
) -> None:
    # The health sampling saw the database fail first: one fault, one incident, one page.
    incident, _ = service.open_incident(
        key="database", component="database", severity="P0", source="health",
        title="database is DOWN", detected_at=datetime.fromtimestamp(DOWN_AT - 120, UTC),
    )  # fmt: skip

    response = send(client, uptimerobot_alert(1, at=DOWN_AT))

    assert response.json() == {"status": "ok", "result": "repeated", "incident": incident.pk}
    assert Incident.objects.count() == 1
    timeline = incident.events.exclude(kind__in=["note", "paged"]).values_list("kind", flat=True)
    assert list(timeline) == ["opened", "repeated"]


@pytest.mark.parametrize(
    ("url", "name", "component", "severity"),
    [
        # By URL, whatever the monitor is called.
        ("https://hub.example.com/ops/health/redis/", "Redis (renamed by hand)", "redis", "P1"),
        ("https://hub.example.com/ops/health/", "Nzila: all critical", "api", "P1"),
        # backup_freshness is the backup component's verdict (one fault, one component).
        ("https://hub.example.com/ops/health/backup_freshness/", "x", "backup:default", "P1"),
        # By name, when the URL is not one the app routes (a proxy's prefix).
        ("https://hub.example.com/app/ops/health/disk/", "Nzila: disk", "disk", "P3"),
        # Any other monitor of the account.
        ("https://status.example.com/", "Marketing site", "uptimerobot:777712827", "P2"),
    ],
)
def test_a_monitor_maps_back_to_its_component(
    webhook_settings: Any, client: Client, url: str, name: str, component: str, severity: str
) -> None:
    send(client, uptimerobot_alert(1, url=url, name=name, at=DOWN_AT))

    incident = Incident.objects.get()
    assert (incident.component, incident.severity) == (component, severity)


@pytest.mark.parametrize("alert_type", ["3", "0", "99"])
def test_other_alert_types_are_answered_and_change_nothing(
    webhook_settings: Any, client: Client, alert_type: str
) -> None:
    fields = {**uptimerobot_alert(1, at=DOWN_AT), "alertType": alert_type}

    response = send(client, fields)

    assert response.status_code == 200
    assert response.json()["result"] == "ignored"
    assert not Incident.objects.exists()


def test_an_up_alert_for_a_component_without_an_incident_changes_nothing(
    webhook_settings: Any, client: Client
) -> None:
    response = send(client, uptimerobot_alert(2, at=UP_AT))

    assert response.json()["result"] == "unchanged"
    assert not Incident.objects.exists()


def test_the_token_may_come_without_the_trailing_slash(
    webhook_settings: Any, client: Client
) -> None:
    response = client.post(UPTIMEROBOT_URL.rstrip("/"), uptimerobot_alert(1, at=DOWN_AT))

    assert response.json()["result"] == "opened"


def test_a_monitor_flapping_keeps_one_incident_open(webhook_settings: Any, client: Client) -> None:
    # The flapping rule of the health flips: down again within INCIDENT_FLAP_SECONDS of the
    # resolution reopens the incident, which then waits to have stayed up before it resolves.
    send(client, uptimerobot_alert(1, at=DOWN_AT))
    send(client, uptimerobot_alert(2, at=DOWN_AT + 300))

    again = send(client, uptimerobot_alert(1, at=DOWN_AT + 600))
    back = send(client, uptimerobot_alert(2, at=DOWN_AT + 900))

    incident = Incident.objects.get()
    assert again.json() == {"status": "ok", "result": "reopened", "incident": incident.pk}
    assert back.json()["result"] == "held"
    assert incident.status == "triggered"
    assert incident.up_since == datetime.fromtimestamp(DOWN_AT + 900, UTC)
