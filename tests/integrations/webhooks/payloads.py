"""Webhook bodies shaped like the vendors' documented examples, and how each vendor signs them.

PagerDuty: the v3 webhook payload of developer.pagerduty.com (Webhooks, Overview), its
``incident`` data object, ``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>]`` (Verifying Signatures).
UptimeRobot: the alert contact's webhook variables (*monitorID*, *monitorURL*...).
Sentry: the integration platform's metric alert, issue alert (``event_alert``) and issue webhook
payloads (docs.sentry.io, Integration Platform, Webhooks), ``Sentry-Hook-Signature`` = hex
HMAC-SHA256 of the body with the client secret.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any

PAGERDUTY_SECRET = "pd-secret-0123456789abcdef"
PAGERDUTY_NEW_SECRET = "pd-secret-rotated-fedcba9876543210"
UPTIMEROBOT_TOKEN = "ur-token-5f2b9c1e7d"
SENTRY_SECRET = "sentry-client-secret-8a7b6c"


def hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def pagerduty_signature(body: bytes, *secrets: str) -> str:
    return ",".join(f"v1={hmac_hex(secret, body)}" for secret in secrets)


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


_PD_INCIDENT: dict[str, Any] = {
    "id": "PGR0VU2",
    "type": "incident",
    "self": "https://api.pagerduty.com/incidents/PGR0VU2",
    "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
    "number": 2,
    "status": "acknowledged",
    "incident_key": "d3640fbd41094207a1c11e58e46b1662",
    "created_at": "2020-04-09T15:16:27Z",
    "title": "A little bump in the road",
    "service": {
        "html_url": "https://acme.pagerduty.com/services/PF9KMXH",
        "id": "PF9KMXH",
        "self": "https://api.pagerduty.com/services/PF9KMXH",
        "summary": "API Service",
        "type": "service_reference",
    },
    "assignees": [
        {
            "html_url": "https://acme.pagerduty.com/users/PTUXL6G",
            "id": "PTUXL6G",
            "self": "https://api.pagerduty.com/users/PTUXL6G",
            "summary": "User 123",
            "type": "user_reference",
        }
    ],
    "escalation_policy": {
        "html_url": "https://acme.pagerduty.com/escalation_policies/PUS0KTE",
        "id": "PUS0KTE",
        "self": "https://api.pagerduty.com/escalation_policies/PUS0KTE",
        "summary": "Default",
        "type": "escalation_policy_reference",
    },
    "teams": [],
    "priority": {
        "html_url": "https://acme.pagerduty.com/account/incident_priorities",
        "id": "PSO75BM",
        "self": "https://api.pagerduty.com/priorities/PSO75BM",
        "summary": "P1",
        "type": "priority_reference",
    },
    "urgency": "high",
    "conference_bridge": {
        "conference_number": "+1 1234123412,,987654321#",
        "conference_url": "https://example.com",
    },
    "resolve_reason": None,
}


def pagerduty_event(
    event_type: str,
    incident_key: str | None,
    *,
    event_id: str = "5ac64822-4adc-4fda-ade0-410becf0de4f",
    occurred_at: str = "2020-10-02T18:45:22.169Z",
    agent: str = "Tenex Engineer",
) -> dict[str, Any]:
    data = copy.deepcopy(_PD_INCIDENT)
    data["incident_key"] = incident_key
    data["status"] = {"incident.acknowledged": "acknowledged", "incident.resolved": "resolved"}.get(
        event_type, "triggered"
    )
    return {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": occurred_at,
            "agent": {
                "html_url": "https://acme.pagerduty.com/users/PLH1HKV",
                "id": "PLH1HKV",
                "self": "https://api.pagerduty.com/users/PLH1HKV",
                "summary": agent,
                "type": "user_reference",
            },
            "client": {"name": "PagerDuty"},
            "data": data,
        }
    }


def uptimerobot_alert(
    alert_type: int,
    *,
    monitor_id: str = "777712827",
    url: str = "https://hub.example.com/ops/health/database/",
    name: str = "Nzila: database",
    at: int = 1_700_000_000,
    details: str = "Keyword Not Exists",
) -> dict[str, str]:
    """The alert contact's default variables, as UptimeRobot fills them in."""
    return {
        "monitorID": monitor_id,
        "monitorURL": url,
        "monitorFriendlyName": name,
        "alertType": str(alert_type),
        "alertTypeFriendlyName": {1: "Down", 2: "Up"}.get(alert_type, "SSL Expiry"),
        "alertDetails": details if alert_type == 1 else "",
        "alertDuration": "" if alert_type == 1 else "720",
        "alertDateTime": str(at),
    }


def sentry_metric_alert(action: str, *, incident_id: str = "4") -> dict[str, Any]:
    title = {"critical": "Critical", "warning": "Warning", "resolved": "Resolved"}[action]
    return {
        "action": action,
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "description_text": "1000 events in the last 10 minutes\\nFilter: level:error",
            "description_title": f"{title}: Too many errors",
            "metric_alert": {
                "alert_rule": {
                    "aggregate": "count()",
                    "created_by": None,
                    "dataset": "events",
                    "date_created": "2020-09-13T12:26:40.000000Z",
                    "date_modified": "2020-09-13T12:26:40.000000Z",
                    "environment": None,
                    "id": "7",
                    "include_all_projects": False,
                    "name": "Too many errors",
                    "organization_id": "5",
                    "projects": ["bar"],
                    "query": "level:error",
                    "resolution": 1,
                    "resolve_threshold": None,
                    "status": 0,
                    "threshold_period": 1,
                    "threshold_type": 0,
                    "time_window": 10,
                    "triggers": [],
                },
                "date_closed": "2020-09-13T12:46:40.000000Z" if action == "resolved" else None,
                "date_created": "2020-09-13T12:26:40.000000Z",
                "date_detected": "2020-09-13T12:26:40.000000Z",
                "date_started": "2020-09-13T12:26:40.000000Z",
                "id": incident_id,
                "identifier": "1",
                "organization_id": "5",
                "projects": ["bar"],
                "status": 2 if action == "resolved" else 1,
                "status_method": 3,
                "title": "Sacred Marmot",
                "type": 2,
            },
            "web_url": "https://sentry.io/organizations/baz/alerts/1/",
        },
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
    }


def sentry_issue_alert(*, issue_id: str = "1117540176") -> dict[str, Any]:
    return {
        "action": "triggered",
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "event": {
                "culprit": "?(<anonymous>)",
                "datetime": "2019-08-19T21:06:17.677000Z",
                "event_id": "e4874d664c3540c1a32eab185f12c5ab",
                "exception": {
                    "values": [{"type": "ReferenceError", "value": "heck is not defined"}]
                },
                "issue_url": f"https://sentry.io/api/0/issues/{issue_id}/",
                "issue_id": issue_id,
                "level": "error",
                "platform": "javascript",
                "project": 1,
                "title": "ReferenceError: heck is not defined",
                "type": "error",
                "url": "https://sentry.io/api/0/projects/test-org/front-end/events/e4874d/",
                "web_url": f"https://sentry.io/organizations/test-org/issues/{issue_id}/events/e4874d/",
            },
            "triggered_rule": "Very Important Alert Rule!",
            "issue_alert": {
                "title": "Very Important Alert Rule!",
                "settings": [{"name": "channel", "value": "#general"}],
            },
        },
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
    }


def sentry_issue(action: str, *, issue_id: str = "1117540176") -> dict[str, Any]:
    return {
        "action": action,
        "actor": {"id": "1", "name": "Ada", "type": "user"},
        "data": {
            "issue": {
                "id": issue_id,
                "shortId": "FRONT-END-1",
                "title": "ReferenceError: heck is not defined",
                "status": action if action in ("resolved", "ignored") else "unresolved",
                "project": {"id": "1", "name": "front-end", "slug": "front-end"},
            }
        },
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
    }
