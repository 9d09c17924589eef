"""The PagerDuty incident notifier: each incident transition as an Events API v2 event.

Put ``"nzila_ops.integrations.pagerduty.notifier.PagerDutyNotifier"`` in
``NZILA_OPS["INCIDENT_NOTIFIERS"]``. Opened and reopened incidents trigger, acknowledged ones
acknowledge, resolved ones resolve, all with the incident's key as ``dedup_key``, so PagerDuty
holds one alert per incident and a retried trigger is not a second page. A severity change
triggers again with the new severity (PagerDuty adds it to the open alert). The routing key is
the one of the component's PagerDuty service.

A transition that came from PagerDuty (its v3 webhook: acknowledged, resolved or reopened
there, ``source="pagerduty"``) is declined: its delivery is 'skipped: came from PagerDuty'.
PagerDuty already holds that state, and a reopening sent back would be a new trigger, i.e. a
second alert and possibly a second page. Other notifiers (e-mail) still send it.

The delivery outbox (nzila_ops.incidents.notifiers) calls ``deliver`` from a Celery task; this
module only decides what a failure is: a refusal (400, a bad setting, no routing key for the
service) is permanent and recorded on the timeline; 429, 5xx and network errors, once the
client's own bounded retries are spent, are transient and the outbox tries again later.
"""

from __future__ import annotations

from typing import Any

from nzila_ops.conf import get_config
from nzila_ops.events import Severity
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.incidents.notifiers import DeliveryFailed, IncidentNotifier
from nzila_ops.integrations.pagerduty.client import (
    ACKNOWLEDGE,
    RESOLVE,
    TRIGGER,
    EventsClient,
    build_event,
    service_for,
)
from nzila_ops.integrations.pagerduty.config import pagerduty_config
from nzila_ops.integrations.pagerduty.transport import PagerDutyError, RetryPolicy
from nzila_ops.integrations.pagerduty.webhook import SOURCE as WEBHOOK_SOURCE
from nzila_ops.models import Incident, IncidentEvent

Kind = IncidentEvent.Kind
ACTIONS = {
    Kind.OPENED: TRIGGER,
    Kind.REOPENED: TRIGGER,
    Kind.SEVERITY_CHANGED: TRIGGER,
    Kind.ACKNOWLEDGED: ACKNOWLEDGE,
    Kind.RESOLVED: RESOLVE,
}


class PagerDutyNotifier(IncidentNotifier):
    name = "pagerduty"

    def configured(self) -> bool:
        """True once any routing key is set. Never raises: it is asked inside the transaction
        that opens an incident, and a bad setting must not stop the incident being recorded
        (the delivery then fails for good, saying why)."""
        try:
            keys = get_config()["PAGERDUTY"]["ROUTING_KEYS"]
        except ConfigurationError:
            return True
        return isinstance(keys, dict) and any(
            isinstance(key, str) and key.strip() for key in keys.values()
        )

    def declines(self, incident: Incident, event: IncidentEvent) -> str:
        return "came from PagerDuty" if event.source == WEBHOOK_SOURCE else ""

    def deliver(self, incident: Incident, event: IncidentEvent) -> None:
        if self.declines(incident, event):
            return  # a row queued before it was declined: still nothing to tell PagerDuty
        action = ACTIONS.get(event.kind)
        if action is None:
            return  # not a transition PagerDuty has a word for
        try:
            config = pagerduty_config()
        except ConfigurationError as exc:
            raise DeliveryFailed(str(exc), transient=False) from None
        service = service_for(incident.component, config)
        routing_key = config["ROUTING_KEYS"].get(service)
        if not routing_key:
            raise DeliveryFailed(
                f"no routing key for PagerDuty service {service!r} (component "
                f"{incident.component!r}): set NZILA_OPS['PAGERDUTY']['ROUTING_KEYS']"
                f"[{service!r}]",
                transient=False,
            )
        if action == TRIGGER:
            payload = trigger_event(incident, event, routing_key, service)
        else:
            payload = build_event(action, routing_key=routing_key, dedup_key=incident.key)
        client = EventsClient(config["EVENTS_URL"], RetryPolicy.from_config(config))
        try:
            client.send(payload)
        except PagerDutyError as exc:
            raise DeliveryFailed(str(exc), transient=exc.transient) from None


def trigger_event(
    incident: Incident, event: IncidentEvent, routing_key: str, service: str
) -> dict[str, Any]:
    """The trigger of an incident: what the on-call engineer reads on the page."""
    severity = Severity(event.severity or incident.severity)
    drill = "[DRILL] " if incident.is_drill else ""
    # An incident the database could not record (deliver_unrecorded): no row to act on here,
    # so the page says so.
    unrecorded = "" if incident.pk else " (NOT RECORDED)"
    details: dict[str, Any] = {
        "incident": incident.pk,
        "severity": str(severity),
        "component": incident.component,
        "source": incident.source,
        "detected_at": incident.detected_at.isoformat(),
        "transition": str(event.kind),
        "drill": incident.is_drill,
    }
    if event.detail:
        details["detail"] = event.detail
    return build_event(
        TRIGGER,
        routing_key=routing_key,
        dedup_key=incident.key,
        summary=f"{drill}[{severity}] {incident.title}{unrecorded}",
        source=incident.component,
        severity=severity.pagerduty,
        component=incident.component,
        group=service,
        event_class=incident.source,
        timestamp=incident.detected_at,
        custom_details=details,
    )
