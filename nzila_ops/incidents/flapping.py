"""A component's faults and recoveries as they are seen (health flips, an uptime monitor's
alerts), with the flapping rule applied, so that a component going down and up repeatedly keeps
one incident:

1. Down within INCIDENT_FLAP_SECONDS of its incident's resolution: that incident is reopened,
   rather than a new one opened.
2. Up again after such a reopening: the incident is held open (service.hold_until_settled) and
   resolved once the component has stayed up for INCIDENT_FLAP_SECONDS (service.settle_flapping,
   run by the periodic task nzila_ops.retry_deliveries), at the time it came back up.

Every source that reports a component down and up (the health sampler, the UptimeRobot webhook)
goes through these two functions, so one rule holds whichever saw the fault.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from nzila_ops.conf import get_config
from nzila_ops.events import Severity
from nzila_ops.incidents import service
from nzila_ops.models import Incident, IncidentEvent

ACTOR = "nzila_ops"


def fault_seen(
    *,
    key: str,
    component: str,
    severity: Severity | str,
    source: str,
    title: str,
    detected_at: datetime,
    detail: str = "",
    actor: str = ACTOR,
) -> tuple[Incident, str]:
    """The component is down (or degraded). Returns its incident and what this call did to it:
    "opened", "reopened" (down again within INCIDENT_FLAP_SECONDS of its resolution) or
    "repeated" (it was open already)."""
    if service.find_open(key) is None:
        window = timedelta(seconds=float(get_config()["INCIDENT_FLAP_SECONDS"]))
        recent = (
            Incident.objects.filter(
                key=key, status=Incident.Status.RESOLVED, resolved_at__gte=detected_at - window
            )
            .order_by("-resolved_at")
            .first()
        )
        if recent is not None and service.reopen(
            recent, by=actor, at=detected_at, source=source,
            detail=f"{title} again (flapping)" + (f"\n\n{detail}" if detail else ""),
        ):  # fmt: skip
            recent.refresh_from_db()
            return recent, "reopened"
    incident, created = service.open_incident(
        key=key, component=component, severity=severity, source=source, title=title,
        detected_at=detected_at, detail=detail, actor=actor,
    )  # fmt: skip
    return incident, "opened" if created else "repeated"


def fault_cleared(
    key: str, *, at: datetime, source: str, detail: str = "", actor: str = ACTOR
) -> bool:
    """The component is up again. True when its incident was resolved (or, flapping, held until
    it has stayed up)."""
    incident = service.find_open(key)
    if incident is None:
        return False
    if incident.events.filter(kind=IncidentEvent.Kind.REOPENED).exists():
        return service.hold_until_settled(incident, at)
    return service.resolve(incident, by=actor, at=at, source=source, detail=detail)
