"""Sentry webhooks: alerts of a Sentry internal integration open and resolve incidents.

POST /ops/webhooks/sentry/ is the webhook URL of an internal integration (Sentry: Settings,
Developer Settings, Custom Integrations) with "Alert Rule Action" on, chosen as the action of
metric and issue alert rules; subscribing it to "issue" webhooks too lets a resolved issue
resolve its incident.

- Authenticated by ``Sentry-Hook-Signature``: the hex HMAC-SHA256 of the raw body with the
  integration's client secret (``WEBHOOKS["SENTRY_CLIENT_SECRET"]``).
- ``Sentry-Hook-Resource`` says what the body is:
  ``metric_alert``: ``critical`` and ``warning`` open (or repeat) the incident of that Sentry
  metric incident, ``resolved`` resolves it; severities from ``SENTRY_METRIC_SEVERITIES``.
  ``event_alert`` (an issue alert rule fired): opens the incident of that Sentry issue, at
  ``SENTRY_ISSUE_SEVERITY`` (P2). ``issue`` with action ``resolved`` resolves it.
  Anything else (``installation``, ``comment``, ``error``...) is answered 200 and ignored.
- Sentry puts no id it signs on a delivery: one is known by the digest of its signed body, so a
  body sent twice does nothing the second time.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from nzila_ops.http import header_bytes
from nzila_ops.integrations.inbound import (
    IGNORED,
    OPENED,
    REPEATED,
    RESOLVED,
    UNCHANGED,
    Outcome,
    Refused,
    body_id,
    check_configured_signature,
    delivery_key,
    hmac_sha256_hex,
    once,
    parse_json_object,
    signature_matches,
    text,
    webhook,
    when,
)

SIGNATURE_HEADER = "HTTP_SENTRY_HOOK_SIGNATURE"
RESOURCE_HEADER = "HTTP_SENTRY_HOOK_RESOURCE"
SOURCE = "sentry"
COMPONENT = "sentry"


def verify(body: bytes, header: str, secret: bytes) -> bool:
    """True when ``header`` (Sentry-Hook-Signature) is the HMAC-SHA256 of ``body``."""
    return signature_matches([hmac_sha256_hex(secret, body)], [header_bytes(header)])


@webhook("Sentry")
def receive(request: HttpRequest, body: bytes, config: dict[str, Any]) -> Outcome:
    """The endpoint (see the module docstring)."""
    secret = config["SENTRY_CLIENT_SECRET"]
    check_configured_signature(
        request,
        "Sentry",
        secret,
        SIGNATURE_HEADER,
        "Sentry-Hook-Signature",
        lambda h: verify(body, h, secret),
    )
    payload = parse_json_object(body)
    resource = request.META.get(RESOURCE_HEADER, "")
    action = payload.get("action")
    if not isinstance(action, str):
        raise Refused(400, "no 'action'")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise Refused(400, "no 'data' object")
    if resource == "metric_alert":
        plan = _metric_alert(action, data, config)
    elif resource == "event_alert":
        plan = _issue_alert(action, data, config)
    elif resource == "issue":
        plan = _issue(action, data)
    else:
        return Outcome(IGNORED, detail=f"resource {text(resource, 40)!r} changes nothing here")
    if plan is None:
        return Outcome(IGNORED, detail=f"{text(resource, 40)} {text(action, 40)!r} ignored")
    key = plan.get("open") or plan["resolve"]
    return once(delivery_key(SOURCE, body_id(body)), "Sentry", key, lambda: _apply(plan))


def _metric_alert(action: str, data: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    alert = data.get("metric_alert")
    if not isinstance(alert, dict) or not text(alert.get("id"), 100):
        raise Refused(400, "no 'data.metric_alert.id'")
    key = f"sentry:metric_alert:{text(alert['id'], 100)}"
    if action == "resolved":
        return {"resolve": key, "at": when(alert.get("date_closed"))}
    severities = config["SENTRY_METRIC_SEVERITIES"]
    if action not in severities:
        raise Refused(400, f"metric alert action {text(action, 40)!r} is not critical, "
                           "warning or resolved")  # fmt: skip
    rule = alert.get("alert_rule")
    name = text(rule.get("name"), 150) if isinstance(rule, dict) else ""
    title = text(data.get("description_title"), 200) or f"Sentry metric alert {name}".strip()
    return {
        "open": key,
        "severity": severities[action],
        "title": title,
        "detail": text(data.get("description_text"), 1000),
        "at": when(alert.get("date_detected") or alert.get("date_started")),
    }


def _issue_alert(action: str, data: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    if action != "triggered":
        raise Refused(400, f"issue alert action {text(action, 40)!r} is not 'triggered'")
    event = data.get("event")
    if not isinstance(event, dict) or not text(event.get("issue_id"), 100):
        raise Refused(400, "no 'data.event.issue_id'")
    rule = text(data.get("triggered_rule"), 100)
    title = text(event.get("title"), 150) or "an issue"
    return {
        "open": f"sentry:issue:{text(event['issue_id'], 100)}",
        "severity": config["SENTRY_ISSUE_SEVERITY"],
        "title": text(f"Sentry: {title}" + (f" ({rule})" if rule else ""), 200),
        "detail": text(event.get("web_url"), 1000),
        "at": when(event.get("datetime")),
    }


def _issue(action: str, data: dict[str, Any]) -> dict[str, Any] | None:
    if action != "resolved":
        return None
    issue = data.get("issue")
    if not isinstance(issue, dict) or not text(issue.get("id"), 100):
        raise Refused(400, "no 'data.issue.id'")
    return {"resolve": f"sentry:issue:{text(issue['id'], 100)}", "at": None}


def _apply(plan: dict[str, Any]) -> Outcome:
    from nzila_ops.events import Severity
    from nzila_ops.incidents import service

    if "open" in plan:
        incident, created = service.open_incident(
            key=plan["open"],
            component=COMPONENT,
            severity=Severity(plan["severity"]),
            source=SOURCE,
            title=plan["title"],
            detected_at=plan["at"],
            detail=plan["detail"],
            actor="Sentry",
        )
        return Outcome(OPENED if created else REPEATED, incident.pk)
    incident = service.find_open(plan["resolve"])
    if incident is None:
        return Outcome(UNCHANGED, detail="no open incident for this alert")
    if service.resolve(incident, by="Sentry", at=plan["at"], source=SOURCE):
        return Outcome(RESOLVED, incident.pk)
    return Outcome(UNCHANGED, incident.pk, "already resolved")
