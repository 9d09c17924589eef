"""The alert-path drill: the plan's "test all alert paths", automated.

A drill opens an ``is_drill`` incident (component ``alert_drill``), delivers it through every
configured notifier, and waits for the acknowledgement to come back: in production the on-call
engineer acknowledges the page in PagerDuty and PagerDuty's webhook acknowledges our incident
(docs/webhooks.md), so an acknowledgement here proves the whole loop, out and back. The measured
time to acknowledge goes on the timeline and the drill incident is resolved.

Unacknowledged within the wait, the alert path is broken, which is itself an incident: the
drill incident becomes a real one (``is_drill`` off, severity P1 or the drill's own if higher,
a note saying why), which pages again through whatever still works.

All changes go through nzila_ops.incidents.service; the one field it has no function for,
``is_drill``, is switched off here by compare-and-update (only on a drill still triggered), so
an acknowledgement arriving at the deadline wins over the escalation or loses cleanly.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from nzila_ops.events import Severity
from nzila_ops.exceptions import ConfigurationError, InvalidArgument
from nzila_ops.incidents import service
from nzila_ops.incidents.notifiers import get_notifiers, send_event
from nzila_ops.models import Delivery, Incident, IncidentEvent

logger = logging.getLogger("nzila_ops.incidents")

COMPONENT = "alert_drill"
#: One key for every drill: the partial unique constraint allows one open drill at a time, so a
#: beat entry firing twice cannot page twice.
KEY = COMPONENT
ACTOR = "nzila_ops"
#: A failed drill is at least this severe: nobody would be paged for a real fault either.
ESCALATED = Severity.P1
MAX_WAIT_SECONDS = 24 * 3600
UNITS = {"s": 1, "m": 60, "h": 3600}
DURATION = re.compile(r"(\d{1,6})\s*([smh]?)")


def parse_wait(text: str) -> float:
    """'10m', '90s', '1h' or plain seconds ('600') -> seconds, from 1 s to 24 h."""
    match = DURATION.fullmatch(text.strip().lower())
    seconds = int(match.group(1)) * UNITS[match.group(2) or "s"] if match else 0
    if not 1 <= seconds <= MAX_WAIT_SECONDS:
        raise InvalidArgument(
            f"wait {text!r} is not a duration from 1s to 24h, like 10m, 90s or 1h"
        )
    return float(seconds)


def format_seconds(seconds: float) -> str:
    """'2 min 14 s', '45 s', '1 h 3 min'."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


@dataclass(frozen=True)
class DrillOutcome:
    incident_id: int
    passed: bool
    severity: str
    wait_seconds: float
    seconds_to_acknowledge: float | None = None
    acknowledged_by: str = ""
    #: How the opening went out: notifier name -> its delivery's status (sent, failed...).
    deliveries: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "incident": self.incident_id,
            "result": "passed" if self.passed else "failed",
            "severity": self.severity,
            "wait_seconds": self.wait_seconds,
            "seconds_to_acknowledge": self.seconds_to_acknowledge,
            "acknowledged_by": self.acknowledged_by,
            "deliveries": self.deliveries,
        }


def run_alert_drill(
    *,
    severity: Severity | str = Severity.P2,
    wait_seconds: float = 600,
    by: str = ACTOR,
    poll_seconds: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DrillOutcome:
    """Open a drill incident, deliver it, wait up to ``wait_seconds`` for its acknowledgement.

    Refused (nothing opened) when the severity is not P0-P3, when no notifier is configured
    (the drill would page nobody), or while an earlier drill's incident is still open."""
    try:
        severity = Severity(severity)
    except ValueError:
        raise InvalidArgument(f"severity {severity!r} is not one of P0, P1, P2, P3") from None
    if not [n for n in get_notifiers() if n.configured()]:
        raise ConfigurationError(
            "no incident notifier is configured (INCIDENT_NOTIFIERS, with e-mail recipients or "
            "PagerDuty routing keys): an alert drill would page nobody"
        )
    incident = start(severity, wait_seconds, by)
    try:
        return wait_for_acknowledgement(incident, wait_seconds, poll_seconds, sleep)
    except KeyboardInterrupt:
        # An abandoned drill must not stay open: it would page nobody again, yet hold the key.
        service.add_note(incident, by=by, text="alert drill abandoned (interrupted) before an "
                         "acknowledgement came back")  # fmt: skip
        service.resolve(incident, by=by, detail="alert drill abandoned")
        raise


def start(severity: Severity, wait_seconds: float, by: str) -> Incident:
    earlier = service.find_open(KEY)
    if earlier is not None:
        raise InvalidArgument(
            f"incident #{earlier.pk} of an earlier alert drill is still open ({earlier.status}): "
            f"resolve it first (manage.py incident resolve {earlier.pk})"
        )
    incident, opened = service.open_incident(
        key=KEY, component=COMPONENT, severity=severity, source="manual", is_drill=True,
        title="Alert-path drill: please acknowledge this page", actor=by,
        detail=f"A drill of the alert path, nothing is broken. Acknowledge it within "
        f"{format_seconds(wait_seconds)}; unacknowledged, it becomes a real {ESCALATED} incident "
        "(the alert path is broken).",
    )  # fmt: skip
    if not opened:  # another drill opened it between our look and our insert
        raise InvalidArgument(f"another alert drill is under way (incident #{incident.pk})")
    logger.info("alert drill: incident #%s opened, waiting %.0f s", incident.pk, wait_seconds)
    # Deliver now rather than leave it to a worker: the drill is of the delivery itself. The
    # deliveries are claimed by compare-and-update, so a Celery task sending them too is harmless.
    send_event(_opening(incident).pk)
    return incident


def _opening(incident: Incident) -> IncidentEvent:
    return incident.events.get(kind=IncidentEvent.Kind.OPENED)


def _deliveries(incident: Incident) -> dict[str, str]:
    rows = Delivery.objects.filter(event=_opening(incident)).order_by("notifier")
    return {row.notifier: str(row.status) for row in rows}


def wait_for_acknowledgement(
    incident: Incident, wait_seconds: float, poll_seconds: float, sleep: Callable[[float], None]
) -> DrillOutcome:
    deadline = time.monotonic() + wait_seconds
    opening = _opening(incident)
    while True:
        incident.refresh_from_db()
        if _answered(incident):
            return _passed(incident, wait_seconds)
        if time.monotonic() >= deadline:
            break
        # A delivery that failed transiently is due again: try it while we wait.
        send_event(opening.pk)
        sleep(max(0.0, min(poll_seconds, deadline - time.monotonic())))
    return _escalate(incident, wait_seconds)


def _answered(incident: Incident) -> bool:
    # Resolved straight away in PagerDuty (no acknowledgement) is an answer too.
    return incident.acknowledged_at is not None or incident.resolved_at is not None


def _passed(incident: Incident, wait_seconds: float) -> DrillOutcome:
    answered_at = incident.acknowledged_at or incident.resolved_at
    assert answered_at is not None
    seconds = max(0.0, (answered_at - incident.detected_at).total_seconds())
    who = incident.acknowledged_by or incident.resolved_by or "someone"
    deliveries = _deliveries(incident)
    text = f"alert drill PASSED: acknowledged by {who} {format_seconds(seconds)} after the page"
    broken = sorted(name for name, status in deliveries.items() if status != "sent")
    if broken:
        text += "; not delivered through " + ", ".join(f"{n} ({deliveries[n]})" for n in broken)
    service.add_note(incident, by=ACTOR, text=text)
    service.resolve(incident, by=ACTOR, detail="alert drill complete")
    logger.info("alert drill #%s passed in %.0f s", incident.pk, seconds)
    return DrillOutcome(incident.pk, True, incident.severity, wait_seconds, seconds, who,
                        deliveries)  # fmt: skip


def _escalate(incident: Incident, wait_seconds: float) -> DrillOutcome:
    waited = format_seconds(wait_seconds)
    with transaction.atomic():
        changed = Incident.objects.filter(
            pk=incident.pk, is_drill=True, status=Incident.Status.TRIGGERED
        ).update(is_drill=False, title=f"Alert path FAILED its drill: no acknowledgement "
                 f"within {waited}")  # fmt: skip
        if changed:
            deliveries = _deliveries(incident)
            sent = ", ".join(f"{name} {status}" for name, status in deliveries.items())
            service.add_note(
                incident, by=ACTOR,
                text=f"alert drill FAILED: not acknowledged within {waited} (deliveries of the "
                f"page: {sent or 'none'}). The alert path is broken, so this is now a real "
                "incident: find why the page reached nobody, or why the acknowledgement did not "
                "come back (the PagerDuty webhook, docs/webhooks.md).",
            )  # fmt: skip
            if ESCALATED.is_more_severe_than(incident.severity):
                # Delivered (severity_changed): it pages again, as the real incident it is.
                service.set_severity(incident, ESCALATED, by=ACTOR)
    incident.refresh_from_db()
    if not changed:  # acknowledged (or resolved) at the last moment
        return _passed(incident, wait_seconds)
    logger.error("alert drill #%s FAILED: no acknowledgement within %s; now a real %s incident",
                 incident.pk, waited, incident.severity)  # fmt: skip
    return DrillOutcome(incident.pk, False, incident.severity, wait_seconds,
                        deliveries=_deliveries(incident))  # fmt: skip
