"""Run checks concurrently, each bounded by its timeout, with a short result cache.

A hung dependency (a Redis process stopped with SIGSTOP) is reported failing once its
timeout has passed; the other checks still report. Results are kept for
HEALTH_CACHE_SECONDS so that a load balancer polling every second cannot hammer the
dependencies; responses say how old they are.

Nothing waits on a check that has timed out: the runner answers without it, and its thread is
a daemon, so an on-call engineer's command, a Celery worker or a gunicorn worker exits when it
is done rather than lingering on a socket that will never answer. A check still running from
an earlier poll is not started again: the poll waits on that same run, so a hung dependency
holds one thread, not one per poll.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from nzila_ops.conf import get_config
from nzila_ops.exceptions import describe
from nzila_ops.health.base import Check, CheckResult, Status
from nzila_ops.health.connections import remember


class DaemonPool:
    """A thread pool whose threads never keep the process alive.

    concurrent.futures' threads are joined at interpreter exit, so one blocked on a dead socket
    kept ``check_health`` alive after it had printed its answer. Threads are long-lived (each
    keeps its database connections between polls), started on demand up to ``max_threads``."""

    def __init__(self, max_threads: int, name: str) -> None:
        self.max_threads = max_threads
        self.name = name
        self.reset()

    def reset(self) -> None:
        """Empty, without threads (a forked child inherits the counts, not the threads)."""
        self._work: queue.SimpleQueue[tuple[Future[CheckResult], Callable[[], CheckResult]]]
        self._work = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads = 0

    def submit(self, fn: Callable[[], CheckResult]) -> Future[CheckResult]:
        future: Future[CheckResult] = Future()
        self._work.put((future, fn))
        if not self._idle.acquire(blocking=False):
            with self._lock:
                if self._threads < self.max_threads:
                    self._threads += 1
                    threading.Thread(
                        target=self._serve, name=f"{self.name}-{self._threads}", daemon=True
                    ).start()
        return future

    def _serve(self) -> None:
        while True:
            future, fn = self._work.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # Check.run() never raises; be safe regardless
                    future.set_exception(exc)
            remember()  # this thread's connections, for close_pooled_connections()
            self._idle.release()


# Generous: a thread stuck on a hung dependency stays busy until that client's socket timeout.
_pool = DaemonPool(max_threads=32, name="nzila-health")
# The run of each check still in progress (checks are built once per settings object).
_running: dict[Check, Future[CheckResult]] = {}
_running_lock = threading.Lock()
_cache: dict[str, CheckResult] = {}
_cache_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # A Celery prefork or gunicorn worker forked from a process that had run checks: the runs
    # it inherited have no thread to finish them, and would be waited on for ever.
    global _running_lock, _cache_lock
    _pool.reset()
    _running.clear()
    _running_lock, _cache_lock = threading.Lock(), threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def start(check: Check) -> tuple[Future[CheckResult], bool]:
    """The check's run: the one still in progress from an earlier poll (True), or a new one."""
    with _running_lock:
        for done in [c for c, f in _running.items() if f.done()]:
            del _running[done]
        future = _running.get(check)
        if future is not None:
            return future, True
        future = _running[check] = _pool.submit(functools.partial(run_safely, check))
        return future, False


def run_safely(check: Check) -> CheckResult:
    """check.run(), which never raises; a host's check that overrides it might (even with a
    SystemExit from a library): failing, not an error page."""
    started = time.monotonic()
    try:
        return check.run()
    except BaseException as exc:  # in a health thread: no KeyboardInterrupt is meant for it
        return check.result(
            Status.FAILING, describe(exc)[:300], (time.monotonic() - started) * 1000
        )


@dataclass(frozen=True)
class HealthReport:
    status: Status
    results: list[CheckResult]
    age_seconds: float

    @property
    def failing(self) -> bool:
        return self.status is Status.FAILING


def overall(results: list[CheckResult]) -> Status:
    statuses = {result.status for result in results}
    if Status.FAILING in statuses:
        return Status.FAILING
    return Status.WARNING if Status.WARNING in statuses else Status.OK


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def run_checks(checks: list[Check], use_cache: bool = True) -> HealthReport:
    config = get_config()
    ttl = float(config["HEALTH_CACHE_SECONDS"]) if use_cache else 0.0
    now = time.time()
    results: dict[str, CheckResult] = {}
    if ttl > 0:
        with _cache_lock:
            for check in checks:
                cached = _cache.get(check.name)
                if cached is not None and now - cached.checked_at < ttl:
                    results[check.name] = cached
    started = time.monotonic()
    pending = [(check, check.timeout_seconds(), *start(check)) for check in checks
               if check.name not in results]  # fmt: skip
    for check, timeout, future, earlier in pending:
        remaining = max(0.0, started + timeout - time.monotonic())
        try:
            results[check.name] = future.result(timeout=remaining)
        except FutureTimeout:
            # Abandoned, not cancelled: its thread is freed by the client's socket timeout.
            reason = f"timed out after {timeout:g} s"
            if earlier:
                reason += " (still waiting since an earlier poll)"
            results[check.name] = check.result(Status.FAILING, reason, timeout * 1000)
    ordered = [results[check.name] for check in checks]
    if ttl > 0:
        with _cache_lock:
            _cache.update({r.name: r for r in ordered})
    age = max((time.time() - r.checked_at for r in ordered), default=0.0)
    return HealthReport(overall(ordered), ordered, max(0.0, age))
