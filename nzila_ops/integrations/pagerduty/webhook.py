"""PagerDuty v3 webhooks: what responders do in PagerDuty comes back to our incidents.

POST /ops/webhooks/pagerduty/ from a webhook subscription (PagerDuty: Integrations, Generic
Webhooks (v3)) with events ``incident.acknowledged``, ``incident.resolved`` and
``incident.reopened``. Other event types are answered 200 and ignored.

- Authenticated by ``X-PagerDuty-Signature``: ``v1=<hex HMAC-SHA256 of the raw body>``, one per
  signing secret, comma-separated while a subscription's secret is rotated. A request is
  genuine when one of them matches one of ``WEBHOOKS["PAGERDUTY_SECRETS"]``.
- Found by key: we page with ``dedup_key`` = our incident's key, and PagerDuty keeps it as the
  incident's ``incident_key``, which every incident event carries.
- Delivered at least once: each delivery of one webhook carries the same ``X-Webhook-Id``, which
  is kept in a receipt on the incident's timeline; a second delivery does nothing.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.http import HttpRequest

from nzila_ops.http import header_bytes
from nzila_ops.integrations.inbound import (
    ACKNOWLEDGED,
    IGNORED,
    REOPENED,
    RESOLVED,
    UNCHANGED,
    Outcome,
    Refused,
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

SIGNATURE_HEADER = "HTTP_X_PAGERDUTY_SIGNATURE"
WEBHOOK_ID_HEADER = "HTTP_X_WEBHOOK_ID"
SIGNATURE_VERSION = b"v1="
SOURCE = "pagerduty"
# The event types that change our incident; PagerDuty's others (triggered, escalated, annotated,
# priority_updated...) change nothing here.
HANDLED = ("incident.acknowledged", "incident.resolved", "incident.reopened")


def verify(body: bytes, header: str, secrets: list[bytes]) -> bool:
    """True when ``header`` (X-PagerDuty-Signature) holds a v1 signature of ``body`` made with
    one of ``secrets``. Signatures of another version are skipped, as PagerDuty asks."""
    given = [
        part.strip()[len(SIGNATURE_VERSION) :]
        for part in header_bytes(header).split(b",")
        if part.strip().startswith(SIGNATURE_VERSION)
    ]
    expected = [hmac_sha256_hex(secret, body) for secret in secrets]
    return bool(given) and signature_matches(expected, given)


@webhook("PagerDuty")
def receive(request: HttpRequest, body: bytes, config: dict[str, Any]) -> Outcome:
    """The endpoint (see the module docstring)."""
    secrets = config["PAGERDUTY_SECRETS"]
    check_configured_signature(
        request,
        "PagerDuty",
        secrets,
        SIGNATURE_HEADER,
        "X-PagerDuty-Signature",
        lambda h: verify(body, h, secrets),
    )
    event = parse_json_object(body).get("event")
    if not isinstance(event, dict):
        raise Refused(400, "no 'event' object")
    event_type = event.get("event_type")
    if not isinstance(event_type, str):
        raise Refused(400, "no 'event.event_type'")
    if event_type not in HANDLED:
        return Outcome(IGNORED, detail=f"{text(event_type, 80)} changes nothing here")
    data = event.get("data")
    if not isinstance(data, dict):
        raise Refused(400, "no 'event.data' object")
    key = data.get("incident_key")
    if not isinstance(key, str) or not key:
        # An incident opened in PagerDuty by another integration: none of ours.
        return Outcome(IGNORED, detail="the incident has no incident_key")
    at = when(event.get("occurred_at"))
    agent = event.get("agent")
    by = text(agent.get("summary"), 150) if isinstance(agent, dict) else ""
    by = by or "PagerDuty"
    # X-Webhook-Id names one webhook across its delivery attempts; the event's own id is the
    # next best (a proxy that drops custom headers).
    delivery = text(request.META.get(WEBHOOK_ID_HEADER, ""), 200) or text(event.get("id"), 200)
    if not delivery:
        raise Refused(400, "no X-Webhook-Id header nor 'event.id'")

    effect = functools.partial(_apply, event_type, key, by=by, at=at)
    return once(delivery_key(SOURCE, delivery), "PagerDuty", key, effect)


def _apply(event_type: str, key: str, *, by: str, at: datetime | None) -> Outcome:
    from nzila_ops.incidents import service
    from nzila_ops.models import Incident

    # The incident this event is about: the open one of the key, or (for a reopening) the one
    # that was resolved last.
    incident = service.find_open(key)
    if incident is None:
        incident = Incident.objects.filter(key=key).order_by("-pk").first()
    if incident is None:
        return Outcome(IGNORED, detail="no incident with that key")
    if at is not None:
        # PagerDuty's clock or a late delivery must not date a change before the fault.
        at = max(at, incident.detected_at, incident.resolved_at or incident.detected_at)
    options = {"by": by, "at": at, "source": SOURCE}
    if event_type == "incident.acknowledged":
        done, result = service.acknowledge(incident, **options), ACKNOWLEDGED
    elif event_type == "incident.resolved":
        done, result = service.resolve(incident, **options), RESOLVED
    else:
        done, result = service.reopen(incident, **options), REOPENED
    if done:
        return Outcome(result, incident.pk)
    incident.refresh_from_db()
    return Outcome(UNCHANGED, incident.pk, f"{event_type}: the incident is {incident.status}")
