from __future__ import annotations

import threading
import time
from typing import Any

from nzila_ops.health.base import Check, Warn

HEARTBEAT_KEY = "nzila_ops:health:beat"


class CeleryWorkersCheck(Check):
    """At least one Celery worker answers a broadcast ping within the timeout."""

    name = "celery_workers"
    # Broker connections of our own, with socket timeouts (the app's pool has none, and a hung
    # broker kept the thread blocked for good), kept between polls: closing one waits for
    # kombu's 1 s BRPOP in flight. One lock each, as a kombu connection serves one thread.
    _connections: dict[tuple[str, float], tuple[threading.Lock, Any]] = {}
    _lock = threading.Lock()

    def connection(self, app: Any, timeout: float) -> tuple[threading.Lock, Any, tuple]:
        key = (str(app.conf.broker_write_url or app.conf.broker_url), timeout)
        with self._lock:
            if key not in self._connections:
                connection = app.connection_for_write(connect_timeout=timeout)
                if connection.transport.driver_type == "redis":
                    # Above kombu's 1 s BRPOP, with which the replies are polled.
                    connection.transport_options.update(
                        socket_timeout=max(timeout, 2.0), socket_connect_timeout=timeout
                    )
                self._connections[key] = (threading.Lock(), connection)
            return (*self._connections[key], key)

    def check(self) -> str | None:
        from celery import current_app

        timeout = self.timeout_seconds()
        # Leave time to report within the check's own timeout.
        wait = max(0.2, timeout * 0.6)
        lock, connection, key = self.connection(current_app, timeout)
        if not lock.acquire(timeout=timeout):
            raise RuntimeError("the broker connection is still busy with an earlier ping")
        try:
            # limit=1: return at the first answer instead of collecting them for the whole wait.
            replies = current_app.control.ping(timeout=wait, limit=1, connection=connection)
        except Exception:
            with self._lock:
                self._connections.pop(key, None)
            connection.collect()  # drop it without a goodbye the broker may never answer
            raise
        finally:
            lock.release()
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
