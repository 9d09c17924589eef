"""Sentry internal-integration webhooks: metric alerts open and resolve an incident, issue
alerts open one (P2), a resolved issue resolves it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from nzila_ops.models import Incident
from tests.integrations.webhooks.conftest import post_sentry
from tests.integrations.webhooks.payloads import (
    dumps,
    sentry_issue,
    sentry_issue_alert,
    sentry_metric_alert,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("action", "severity"), [("critical", "P1"), ("warning", "P3")])
def test_a_metric_alert_opens_an_incident(
    webhook_settings: Any, client: Client, action: str, severity: str
) -> None:
    response = post_sentry(client, "metric_alert", sentry_metric_alert(action))

    assert response.status_code == 200
    incident = Incident.objects.get()
    assert response.json() == {"status": "ok", "result": "opened", "incident": incident.pk}
    assert (incident.key, incident.source, incident.severity) == (
        "sentry:metric_alert:4", "sentry", severity)  # fmt: skip
    assert incident.title == f"{action.title()}: Too many errors"
    assert incident.detected_at == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)


def test_a_warning_that_becomes_critical_is_one_incident_made_more_severe(
    webhook_settings: Any, client: Client
) -> None:
    post_sentry(client, "metric_alert", sentry_metric_alert("warning"))

    response = post_sentry(client, "metric_alert", sentry_metric_alert("critical"))

    assert response.json()["result"] == "repeated"
    incident = Incident.objects.get()
    assert incident.severity == "P1"


def test_a_resolved_metric_alert_resolves_its_incident(
    webhook_settings: Any, client: Client
) -> None:
    post_sentry(client, "metric_alert", sentry_metric_alert("critical"))

    response = post_sentry(client, "metric_alert", sentry_metric_alert("resolved"))

    assert response.json()["result"] == "resolved"
    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert incident.resolved_by == "Sentry"
    assert incident.resolved_at == datetime(2020, 9, 13, 12, 46, 40, tzinfo=UTC)


def test_the_metric_alert_severities_come_from_the_settings(
    webhook_settings: Any, client: Client
) -> None:
    webhook_settings.NZILA_OPS = {
        **webhook_settings.NZILA_OPS,
        "WEBHOOKS": {**webhook_settings.NZILA_OPS["WEBHOOKS"],
                     "SENTRY_METRIC_SEVERITIES": {"critical": "P0", "warning": "P2"}},
    }  # fmt: skip

    post_sentry(client, "metric_alert", sentry_metric_alert("critical"))

    assert Incident.objects.get().severity == "P0"


def test_a_trigger_left_out_of_the_settings_keeps_its_default_severity(
    webhook_settings: Any, client: Client
) -> None:
    webhook_settings.NZILA_OPS = {
        **webhook_settings.NZILA_OPS,
        "WEBHOOKS": {**webhook_settings.NZILA_OPS["WEBHOOKS"],
                     "SENTRY_METRIC_SEVERITIES": {"critical": "P0"}},
    }  # fmt: skip

    response = post_sentry(client, "metric_alert", sentry_metric_alert("warning"))

    assert response.json()["result"] == "opened"
    assert Incident.objects.get().severity == "P3"


def test_an_issue_alert_opens_a_p2_incident_and_the_resolved_issue_resolves_it(
    webhook_settings: Any, client: Client
) -> None:
    opened = post_sentry(client, "event_alert", sentry_issue_alert())
    incident = Incident.objects.get()

    assert opened.json()["result"] == "opened"
    assert (incident.key, incident.severity) == ("sentry:issue:1117540176", "P2")
    assert incident.title == (
        "Sentry: ReferenceError: heck is not defined (Very Important Alert Rule!)"
    )

    resolved = post_sentry(client, "issue", sentry_issue("resolved"))

    assert resolved.json()["result"] == "resolved"
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_the_issue_alert_severity_comes_from_the_settings(
    webhook_settings: Any, client: Client
) -> None:
    webhook_settings.NZILA_OPS = {
        **webhook_settings.NZILA_OPS,
        "WEBHOOKS": {**webhook_settings.NZILA_OPS["WEBHOOKS"], "SENTRY_ISSUE_SEVERITY": "P1"},
    }

    post_sentry(client, "event_alert", sentry_issue_alert())

    assert Incident.objects.get().severity == "P1"


def test_a_delivery_sent_twice_has_one_effect(webhook_settings: Any, client: Client) -> None:
    post_sentry(client, "metric_alert", sentry_metric_alert("critical"))
    post_sentry(client, "metric_alert", sentry_metric_alert("resolved"))

    replay = post_sentry(client, "metric_alert", sentry_metric_alert("critical"))

    assert replay.json() == {"status": "ok", "result": "duplicate"}
    assert Incident.objects.count() == 1
    assert Incident.objects.get().status == "resolved"


@pytest.mark.parametrize(
    ("resource", "payload"),
    [
        ("installation", {"action": "created", "data": {"installation": {"uuid": "x"}}}),
        ("issue", sentry_issue("created")),
        ("issue", sentry_issue("ignored")),
        ("comment", {"action": "created", "data": {"comment": "hi"}}),
        ("error", {"action": "created", "data": {"error": {}}}),
        ("", {"action": "created", "data": {}}),
    ],
)
def test_other_resources_and_actions_are_answered_and_change_nothing(
    webhook_settings: Any, client: Client, resource: str, payload: dict[str, Any]
) -> None:
    response = post_sentry(client, resource, dumps(payload))

    assert response.status_code == 200
    assert response.json()["result"] == "ignored"
    assert not Incident.objects.exists()


def test_a_resolution_of_an_alert_never_seen_changes_nothing(
    webhook_settings: Any, client: Client
) -> None:
    response = post_sentry(client, "metric_alert", sentry_metric_alert("resolved"))

    assert response.json()["result"] == "unchanged"
    assert not Incident.objects.exists()
