"""Run checks concurrently, each bounded by its timeout, with a short result cache.

A hung dependency (a Redis process stopped with SIGSTOP) is reported failing once its
timeout has passed; the other checks still report. Results are kept for
HEALTH_CACHE_SECONDS so that a load balancer polling every second cannot hammer the
dependencies; responses say how old they are.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from nzila_ops.conf import get_config
from nzila_ops.health.base import Check, CheckResult, Status

# Long-lived threads: each keeps its database connection between polls. Generous, because a
# thread stuck on a hung dependency stays busy until that client's own socket timeout.
_pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="nzila-health")
_cache: dict[str, CheckResult] = {}
_cache_lock = threading.Lock()


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
    pending: list[tuple[Check, float, Future[CheckResult]]] = [
        (check, check.timeout_seconds(), _pool.submit(check.run))
        for check in checks
        if check.name not in results
    ]
    for check, timeout, future in pending:
        remaining = max(0.0, started + timeout - time.monotonic())
        try:
            results[check.name] = future.result(timeout=remaining)
        except FutureTimeout:
            results[check.name] = check.result(
                Status.FAILING, f"timed out after {timeout:g} s", timeout * 1000
            )
    ordered = [results[check.name] for check in checks]
    if ttl > 0:
        with _cache_lock:
            _cache.update({r.name: r for r in ordered})
    age = max((time.time() - r.checked_at for r in ordered), default=0.0)
    return HealthReport(overall(ordered), ordered, max(0.0, age))
