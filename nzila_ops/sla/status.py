"""The public status page's content: what customers may see, and nothing else.

Only the components named in NZILA_OPS['SLA']['PUBLIC_COMPONENTS'] appear, under their public
names. For each: its current state, its uptime per calendar day (SLA time zone) over the last
90 days, and the incidents of public components (open ones, and those resolved in the last 14
days) under their public titles. Internal names, reasons, hosts, errors, keys, severities and
timelines never leave this module: the document is built from an allow-list of fields, not by
removing the secret ones from a copy.

The document is a JSON-able dict (the JSON endpoint serves it as it is; the HTML page renders
it). It is cached in Django's cache for SLA.STATUS_CACHE_SECONDS; a cache that fails is logged
and the document computed, so the page never fails because of the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from nzila_ops.conf import get_config
from nzila_ops.events import health_component
from nzila_ops.models import ComponentState, Incident
from nzila_ops.sla.bars import day_status
from nzila_ops.sla.periods import sla_timezone
from nzila_ops.sla.render import shown_decimal
from nzila_ops.sla.uptime import Availability, daily_availability

logger = logging.getLogger("nzila_ops.sla")

DAYS = 90
RESOLVED_SHOWN_DAYS = 14
CACHE_PREFIX = "nzila_ops:sla:status:v1:"

#: States, worst first: the page's overall state is the worst of its components' and of its
#: open incidents' impacts.
STATES = ("outage", "degraded", "unknown", "ok")
_FROM_HEALTH = {"ok": "ok", "warning": "degraded", "failing": "outage"}
# The only incident fields read: the rest (key, timeline, post-mortem) is never even loaded.
INCIDENT_FIELDS = ("component", "title", "public_title", "status", "source", "detected_at",
                   "resolved_at")  # fmt: skip
_PUBLIC_PROGRESS = {
    Incident.Status.TRIGGERED: "investigating",
    Incident.Status.ACKNOWLEDGED: "identified",
    Incident.Status.RESOLVED: "resolved",
}


def public_components() -> dict[str, str]:
    """Component name -> public name, as configured (insertion order is the page's order)."""
    return {str(k): str(v) for k, v in get_config()["SLA"]["PUBLIC_COMPONENTS"].items()}


def cached_status_document(now: datetime | None = None) -> dict[str, Any]:
    """The document, from the cache when fresh; computed (and cached) otherwise."""
    seconds = _cache_seconds()
    if seconds <= 0:
        return status_document(now)
    key = cache_key()
    try:
        cached = cache.get(key)
    except Exception as exc:  # any backend's failure: the page is computed instead
        logger.warning("status page cache unavailable (read): %s", exc)
        cached = None
    if isinstance(cached, dict):
        return cached
    document = status_document(now)
    try:
        cache.set(key, document, seconds)
    except Exception as exc:
        logger.warning("status page cache unavailable (write): %s", exc)
    return document


def cache_key() -> str:
    """The cache key of the current settings' page: a changed PUBLIC_COMPONENTS or TIME_ZONE is
    a different page at once, not after the cached one expires."""
    sla = get_config()["SLA"]
    shown = json.dumps([list(public_components().items()), str(sla["TIME_ZONE"])])
    return CACHE_PREFIX + hashlib.sha256(shown.encode()).hexdigest()[:16]


def _cache_seconds() -> float:
    value = get_config()["SLA"]["STATUS_CACHE_SECONDS"]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def status_document(now: datetime | None = None) -> dict[str, Any]:
    """The public status, computed now (no cache).

    Schema (docs/status_page.md)::

        {"status": "ok" | "degraded" | "outage" | "unknown",
         "generated_at": ISO 8601, "time_zone": IANA name, "days": 90,
         "components": [{"name", "status", "uptime_percent" (90 days, or null),
                         "days": [{"date", "status": "up"|"partial"|"down"|"no_data",
                                   "uptime_percent" (or null), "downtime_seconds"}]}],
         "incidents": {"open": [...], "resolved": [...]}}

    An incident is ``{"title", "components": [public names], "impact": "outage"|"degraded",
    "status": "investigating"|"identified"|"resolved", "started_at", "resolved_at"}``.
    """
    now = now or timezone.now()
    public = public_components()
    tz = sla_timezone()
    today = now.astimezone(tz).date()
    first_day = today - timedelta(days=DAYS - 1)
    daily = daily_availability(list(public), first_day, DAYS) if public else {}
    states = _current_states(public, now)
    incidents = _incidents(public, now)
    # A component's card agrees with the incidents listed under it: an open incident of
    # Payments shows Payments disrupted even while its check passes again.
    impacts: dict[str, list[str]] = {}
    for open_incident in incidents["open"]:
        for public_name in open_incident["components"]:
            impacts.setdefault(public_name, []).append(open_incident["impact"])
    components = [
        _component(
            public_name,
            worst([states[name], *impacts.get(public_name, [])]),
            daily.get(name, []),
            first_day,
        )
        for name, public_name in public.items()
    ]
    return {
        # The cards already count every open incident listed (each is of a public component),
        # so the headline never says "All systems operational" above a current outage.
        "status": worst([c["status"] for c in components]),
        "generated_at": now.isoformat(),
        "time_zone": str(tz),
        "days": DAYS,
        "components": components,
        "incidents": incidents,
    }


def worst(states: Iterable[str]) -> str:
    """The worst of the states ("unknown" when there are none)."""
    seen = set(states)
    return next((state for state in STATES if state in seen), "unknown")


def _current_states(public: dict[str, str], now: datetime) -> dict[str, str]:
    found = {
        state.component: state
        for state in ComponentState.objects.filter(component__in=list(public)).only(
            "component", "status", "last_sampled_at"
        )
    }
    # A state the health sampler has not refreshed within HEALTH_SAMPLE_GAP_SECONDS is no
    # longer known (the rule of the uptime figures and of /ops/metrics): a stopped sampler must
    # not leave the page saying "operational" for ever.
    stale_after = timedelta(seconds=get_config()["HEALTH_SAMPLE_GAP_SECONDS"])
    states = {}
    for name in public:
        state = found.get(name)
        if state is None or now - state.last_sampled_at > stale_after:
            states[name] = "unknown"
        else:
            states[name] = _FROM_HEALTH.get(state.status, "unknown")
    return states


def _component(
    public_name: str, state: str, days: list[Availability], first_day: date
) -> dict[str, Any]:
    bars = [_day(first_day + timedelta(days=i), a) for i, a in enumerate(days[:DAYS])]
    # A component without figures for some days (none recorded) still gets its 90 bars.
    bars += [
        {"date": (first_day + timedelta(days=i)).isoformat(), "status": "no_data",
         "uptime_percent": None, "downtime_seconds": 0}
        for i in range(len(bars), DAYS)
    ]  # fmt: skip
    up = sum(a.up_seconds for a in days)
    down = sum(a.down_seconds for a in days)
    return {
        "name": public_name,
        "status": state,
        "uptime_percent": _percent(up, down),
        "days": bars,
    }


def _day(day: date, availability: Availability) -> dict[str, Any]:
    up, down = availability.up_seconds, availability.down_seconds
    return {
        "date": day.isoformat(),
        "status": day_status(up, down),
        "uptime_percent": _percent(up, down),
        "downtime_seconds": round(down),
    }


def _percent(up: float, down: float) -> float | None:
    if up + down <= 0:
        return None
    # Floored to 3 decimals, not rounded: 99.9996 % must not be shown as 100 %; the report's
    # rule (exact in decimal), so the page and the report show the same figure.
    return float(shown_decimal(100 * up / (up + down)))


def _incidents(public: dict[str, str], now: datetime) -> dict[str, list[dict[str, Any]]]:
    # An incident's component is the health check's component name (events.health_component),
    # which for a few checks differs from the check's own name.
    by_component = {health_component(name): public_name for name, public_name in public.items()}
    by_component.update(public)
    if not by_component:
        return {"open": [], "resolved": []}
    since = now - timedelta(days=RESOLVED_SHOWN_DAYS)
    rows = (
        Incident.objects.filter(component__in=list(by_component), is_drill=False)
        .filter(Q(status__in=Incident.OPEN_STATUSES) | Q(resolved_at__gte=since))
        .filter(detected_at__lte=now)
        .order_by("-detected_at", "-id")
        .only(*INCIDENT_FIELDS)
    )
    shown: dict[str, list[dict[str, Any]]] = {"open": [], "resolved": []}
    for incident in rows:
        public_name = by_component[incident.component]
        entry = {
            "title": incident.public_title.strip() or _generic_title(incident, public_name),
            "components": [public_name],
            "impact": _impact(incident),
            "status": _PUBLIC_PROGRESS.get(incident.status, "investigating"),
            "started_at": incident.detected_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        }
        shown["resolved" if incident.status == Incident.Status.RESOLVED else "open"].append(entry)
    return shown


def _impact(incident: Incident) -> str:
    # A health incident opened by a "warning" state is titled "<check> is degraded"
    # (incidents.receivers); everything else is a disruption. The title itself is never shown.
    degraded = incident.source == "health" and incident.title.endswith(" is degraded")
    return "degraded" if degraded else "outage"


def _generic_title(incident: Incident, public_name: str) -> str:
    if _impact(incident) == "degraded":
        return f"{public_name} degraded performance"
    return f"{public_name} disruption"
