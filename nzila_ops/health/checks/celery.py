from __future__ import annotations

import time

from nzila_ops.health.base import Check, Warn

HEARTBEAT_KEY = "nzila_ops:health:beat"


class CeleryWorkersCheck(Check):
    """At least one Celery worker answers a broadcast ping within the timeout."""

    name = "celery_workers"

    def check(self) -> str | None:
        from celery import current_app

        # Leave time to report within the check's own timeout.
        wait = max(0.2, self.timeout_seconds() * 0.6)
        # limit=1: return at the first answer instead of collecting them for the whole wait.
        replies = current_app.control.ping(timeout=wait, limit=1)
        if not replies:
            raise RuntimeError(f"no Celery worker answered a ping within {wait:.1f} s")
        return "a worker answered"


class CeleryBeatCheck(Check):
    """Celery beat is alive: the heartbeat its periodic task writes is recent.

    The heartbeat is written by the ``nzila_ops.beat_heartbeat`` task (scheduled every minute
    by setup_schedules) into the Django cache; older than ``max_age`` (default 180 s) is
    failing, older than half of it a warning."""

    name = "celery_beat"

    def check(self) -> str | None:
        from django.core.cache import cache

        max_age = float(self.options.get("max_age", 180))
        beat = cache.get(HEARTBEAT_KEY)
        if beat is None:
            raise RuntimeError("no beat heartbeat recorded")
        age = time.time() - float(beat)
        if age > max_age:
            raise RuntimeError(f"last beat heartbeat {age:.0f} s ago (limit {max_age:.0f} s)")
        if age > max_age / 2:
            raise Warn(f"last beat heartbeat {age:.0f} s ago")
        return f"heartbeat {age:.0f} s ago"


def record_heartbeat() -> None:
    from django.core.cache import cache

    cache.set(HEARTBEAT_KEY, time.time(), None)
