"""The contract of a health check.

A check has a name (one UptimeRobot monitor each), is critical or a warning, has a timeout,
and implements ``check()``: return None (or a short note) when healthy, raise ``Warn`` for a
degraded state, raise anything else when failing. ``run()`` turns that into a CheckResult and
never raises; a database connection the server had closed is replaced and the check run once
more (see health.connections). Reasons are for staff and token holders only; public responses
show statuses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import DatabaseError, InterfaceError

from nzila_ops.exceptions import describe
from nzila_ops.health.connections import discard_closed


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILING = "failing"


class Warn(Exception):
    """Raised by ``check()`` for a degraded but working component."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    reason: str
    latency_ms: float
    critical: bool
    checked_at: float  # time.time()

    def as_detail(self) -> dict[str, Any]:
        return {"reason": self.reason, "latency_ms": round(self.latency_ms, 1),
                "critical": self.critical}  # fmt: skip


class Check:
    """Base class. Subclasses set ``name`` (or get one from settings) and implement check()."""

    name: str = ""
    critical: bool = True

    def __init__(
        self, name: str | None = None, critical: bool | None = None, timeout: float | None = None,
        **options: Any,
    ) -> None:  # fmt: skip
        if name:
            self.name = name
        if critical is not None:
            self.critical = critical
        self.timeout = timeout  # None: HEALTH_TIMEOUT_SECONDS
        self.options = options

    def timeout_seconds(self) -> float:
        """This check's own timeout, or HEALTH_TIMEOUT_SECONDS: what the runner waits, and what
        a check gives its client's socket so that a hung dependency frees the thread."""
        from nzila_ops.conf import get_config

        return float(self.timeout or get_config()["HEALTH_TIMEOUT_SECONDS"])

    def check(self) -> str | None:
        raise NotImplementedError

    def run(self) -> CheckResult:
        started = time.monotonic()
        discard_closed()  # closed since the last poll: noticed, or by close_pooled_connections
        status, reason, error = self.attempt()
        if isinstance(error, DatabaseError | InterfaceError) and discard_closed():
            # The server closed a connection this thread kept (a restore terminating sessions,
            # a PostgreSQL restart): not an outage. Answer from a fresh one, once; a real
            # outage fails again.
            status, reason, error = self.attempt()
        return self.result(status, reason, (time.monotonic() - started) * 1000)

    def attempt(self) -> tuple[Status, str, Exception | None]:
        try:
            note = self.check()
            return Status.OK, note or "ok", None
        except Warn as exc:
            return Status.WARNING, str(exc) or "degraded", None
        except Exception as exc:
            return Status.FAILING, describe(exc)[:300], exc

    def result(self, status: Status, reason: str, latency_ms: float) -> CheckResult:
        return CheckResult(self.name, status, reason, latency_ms, self.critical, time.time())
