"""Business metrics: host callables from METRICS['BUSINESS'], computed at scrape time.

Each callable takes no argument and returns a number (int, float, Decimal); it is exported as
``nzila_business_<name>``, with ``nzila_business_metric_up{name}`` 1 when computed, 0 when it
raised, returned something else or did not finish in time.

Bounded cost, whatever the callable does:

- it runs in a worker thread; the scrape waits for all of them together at most
  BUSINESS_TIMEOUT_SECONDS, then answers with what it has;
- a value is reused for BUSINESS_CACHE_SECONDS before it is computed again;
- at most one computation per metric is in flight: a stuck callable is not started again,
  scrape after scrape, until it returns (a late result is used by the next scrape);
- the database connections the thread opened are closed when it ends.

After a failure or a timeout the last good value is still exported (with metric_up 0) while it
is younger than twice BUSINESS_CACHE_SECONDS; older, the metric is left out rather than shown
as current.
"""

from __future__ import annotations

import decimal
import logging
import math
import numbers
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)


@dataclass
class _Slot:
    """One metric's state in this process: its last good value and its computation in flight."""

    name: str
    path: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    running: threading.Event | None = None
    started_at: float = 0.0
    good: float | None = None
    good_at: float | None = None
    # The outcome of the last finished computation: None when it succeeded, else why not.
    error: str | None = None


_slots: dict[tuple[str, str], _Slot] = {}
_slots_lock = threading.Lock()


def _slot(name: str, path: str) -> _Slot:
    with _slots_lock:
        if (name, path) not in _slots:
            _slots[(name, path)] = _Slot(name, path)
        return _slots[(name, path)]


def _as_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | decimal.Decimal):
        raise TypeError(f"returned {type(value).__name__}, not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"returned {number}, not a finite number")
    return number


def _compute(slot: _Slot, done: threading.Event) -> None:
    from django.db import connections
    from django.utils.module_loading import import_string

    value: float | None = None
    error: str | None = None
    try:
        value = _as_number(import_string(slot.path)())
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
        logger.warning("business metric %s (%s) failed: %s", slot.name, slot.path, error)
    finally:
        # The thread is gone after this: its connections would stay open until the server
        # drops them, one per computation.
        connections.close_all()
        with slot.lock:
            if value is not None:
                slot.good, slot.good_at = value, time.monotonic()
            slot.error, slot.running = error, None
        done.set()


def _start(slot: _Slot, now: float) -> threading.Event:
    done = threading.Event()
    slot.running, slot.started_at = done, now
    threading.Thread(
        target=_compute, args=(slot, done), name=f"nzila-business-{slot.name}", daemon=True
    ).start()
    return done


def collect_business(config: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
    """The business gauges and ``nzila_business_metric_up``; returns within the timeout."""
    metrics = config["BUSINESS"]
    if not metrics:
        return
    timeout = float(config["BUSINESS_TIMEOUT_SECONDS"])
    cache = float(config["BUSINESS_CACHE_SECONDS"])
    now = time.monotonic()
    waiting: list[tuple[_Slot, threading.Event | None]] = []
    for name, spec in metrics.items():
        slot = _slot(name, spec["CALLABLE"])
        with slot.lock:
            if slot.good_at is not None and now - slot.good_at < cache:
                done = None  # fresh: reused
            elif slot.running is not None:
                done = slot.running  # still in flight since an earlier scrape: not restarted
            else:
                done = _start(slot, now)
        waiting.append((slot, done))
    deadline = now + timeout
    for _, done in waiting:
        if done is not None:
            done.wait(max(0.0, deadline - time.monotonic()))
    up = GaugeMetricFamily(
        "nzila_business_metric_up",
        "1 when the business metric was computed (or reused while fresh), 0 when it failed or "
        "timed out.",
        labels=["name"],
    )
    end = time.monotonic()
    for slot, done in waiting:
        with slot.lock:
            ok = done is None or (done.is_set() and slot.error is None)
            good, good_at = slot.good, slot.good_at
            if not ok and slot.running is not None:
                logger.warning(
                    "business metric %s (%s) still running after %.1f s",
                    slot.name,
                    slot.path,
                    end - slot.started_at,
                )
        up.add_metric([slot.name], 1.0 if ok else 0.0)
        if good is None or good_at is None or (not ok and end - good_at >= 2 * cache):
            continue
        yield GaugeMetricFamily(
            f"nzila_business_{slot.name}", metrics[slot.name]["HELP"], value=good
        )
    yield up


def _forget_after_fork() -> None:
    # A thread in flight in the parent does not exist in the child: its slot would look busy
    # for ever.
    global _slots, _slots_lock
    _slots, _slots_lock = {}, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
