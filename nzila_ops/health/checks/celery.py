from __future__ import annotations

import os
import threading
from typing import Any

from django.utils import timezone

from nzila_ops.health.base import Check, Warn

HEARTBEAT_TASK = "nzila_ops.beat_heartbeat"
# The heartbeat entry runs every minute (nzila_ops.schedules). Until its first run, for two of
# its intervals after the entry was installed (setup_schedules, at a fresh deploy), no heartbeat
# is a warning, not a failure: beat and its worker are still starting.
HEARTBEAT_INTERVAL_SECONDS = 60
FIRST_HEARTBEAT_GRACE_SECONDS = 2 * HEARTBEAT_INTERVAL_SECONDS


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


def _forget_connections_after_fork() -> None:
    # A forked child shares the parent's broker sockets: it opens its own. (redis-py's pools
    # notice a fork by themselves; kombu's connections do not.)
    CeleryWorkersCheck._connections = {}
    CeleryWorkersCheck._lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_connections_after_fork)


class CeleryBeatCheck(Check):
    """Celery beat is alive: its heartbeat entry ran recently.

    The ``nzila_ops.beat_heartbeat`` entry (every minute, installed by setup_schedules) lives in
    django-celery-beat's table; the task, run by a worker, stamps the entry's ``last_run_at``
    (beat's DatabaseScheduler writes it too, when it syncs). Being in the database, it is seen
    by every process: it was in the Django cache, which is per process by default (local
    memory), so the check failed for good unless the host had set up a shared cache. Older than
    ``max_age`` (default 180 s) is failing, older than half of it a warning. No heartbeat ever
    is a warning for FIRST_HEARTBEAT_GRACE_SECONDS after the entry was installed (a fresh
    deploy must not page before beat's first minute), failing after."""

    name = "celery_beat"

    def check(self) -> str | None:
        from django.apps import apps

        if not apps.is_installed("django_celery_beat"):
            raise RuntimeError("django_celery_beat is not in INSTALLED_APPS: beat has no schedule")
        from django_celery_beat.models import PeriodicTask

        max_age = float(self.options.get("max_age", 180))
        entries = list(
            PeriodicTask.objects.filter(task=HEARTBEAT_TASK).values_list(
                "enabled", "last_run_at", "date_changed"
            )
        )
        if not entries:
            raise RuntimeError(
                "no beat heartbeat recorded: its schedule entry is missing "
                "(run manage.py setup_schedules)"
            )
        if not any(enabled for enabled, _, _ in entries):
            raise RuntimeError("the beat heartbeat entry is disabled (admin: periodic tasks)")
        beat = max((at for enabled, at, _ in entries if enabled and at), default=None)
        if beat is None:
            # date_changed: when setup_schedules (or the admin) last saved the entry; the
            # heartbeat task stamps last_run_at with update(), which leaves it alone.
            installed = max(changed for enabled, _, changed in entries if enabled)
            waited = max(0.0, (timezone.now() - installed).total_seconds())
            if waited < FIRST_HEARTBEAT_GRACE_SECONDS:
                raise Warn(
                    f"no beat heartbeat yet: its entry was installed {waited:.0f} s ago "
                    f"(failing after {FIRST_HEARTBEAT_GRACE_SECONDS} s without one)"
                )
            raise RuntimeError("no beat heartbeat recorded")
        age = max(0.0, (timezone.now() - beat).total_seconds())
        if age > max_age:
            raise RuntimeError(f"last beat heartbeat {age:.0f} s ago (limit {max_age:.0f} s)")
        if age > max_age / 2:
            raise Warn(f"last beat heartbeat {age:.0f} s ago")
        return f"heartbeat {age:.0f} s ago"


def record_heartbeat() -> int:
    """Stamp the heartbeat entry as run now (the ``nzila_ops.beat_heartbeat`` task, in a
    worker); returns the number of entries stamped (0 without django_celery_beat)."""
    from django.apps import apps

    if not apps.is_installed("django_celery_beat"):
        return 0
    from django_celery_beat.models import PeriodicTask

    # update(), not save(): no signal, so beat does not reload its whole schedule every minute.
    return PeriodicTask.objects.filter(task=HEARTBEAT_TASK).update(last_run_at=timezone.now())
