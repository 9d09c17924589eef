"""Failures seen when the database cannot record them: the health sampler's last resort.

The sampler keeps its state (and the incidents) in the database. When that database is the
thing that is down, nothing can be recorded, so nothing would be flipped, opened or paged: the
one outage that matters most would be silent. Instead, every critical component the sample saw
failing is told to the notifiers directly (``deliver_unrecorded``: "NOT RECORDED"), at most once
per UNRECORDED_REPEAT_SECONDS per component. That memory is the Django cache (shared in a
deployment; per process with the default local-memory cache, where PagerDuty's dedup key still
keeps it to one alert); if the cache fails too, the notifiers are told anyway.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.cache import cache

from nzila_ops.events import health_component, severity_for
from nzila_ops.health.base import CheckResult, Status
from nzila_ops.incidents.notifiers import deliver_unrecorded
from nzila_ops.models import Incident

logger = logging.getLogger("nzila_ops.incidents")

UNRECORDED_REPEAT_SECONDS = 15 * 60
CACHE_PREFIX = "nzila_ops:unrecorded:"


def _first_in_a_while(component: str) -> bool:
    try:
        return bool(cache.add(f"{CACHE_PREFIX}{component}", 1, UNRECORDED_REPEAT_SECONDS))
    except Exception as exc:  # the cache may be down too: better twice than never
        logger.warning("cache unavailable for unrecorded alerts: %s", exc)
        return True


def alert_unrecorded_failures(results: list[CheckResult], at: datetime, cause: str) -> int:
    """Tell the notifiers of each failing critical component in ``results``. Returns how many
    components were announced."""
    announced = 0
    for result in results:
        if result.status is not Status.FAILING or not result.critical:
            continue
        component = health_component(result.name)
        if not _first_in_a_while(component):
            continue
        incident = Incident(
            key=component, component=component, severity=severity_for(component).value,
            source="health", title=f"{result.name} is DOWN", detected_at=at,
        )  # fmt: skip
        detail = f"{result.reason}\n\nNot recorded (the database cannot be written: {cause})."
        logger.error("%s is DOWN and cannot be recorded; notifying directly", result.name)
        deliver_unrecorded(incident, detail.strip())
        announced += 1
    return announced
