"""p95 latency of the period from Prometheus (its HTTP query API), or "not measured".

Only when NZILA_OPS['SLA']['PROMETHEUS_URL'] is set. The figures are never invented: a
Prometheus that cannot be reached, answers an error, or has no samples for the period gives
"not measured (<why>)". The queries are the Grafana dashboard's, over the whole period:
``histogram_quantile(0.95, sum by (le) (increase(<histogram>_bucket[<period>])))``.

A period that starts before the histogram's earliest sample Prometheus holds (its retention
dropped the beginning, or it was not scraped yet) is "not measured (Prometheus holds data from
<date> only)": a p95 of part of the period is never shown as the period's.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.utils import timezone

from nzila_ops.conf import get_config

# The plan's performance baselines (also the dashboard's thresholds).
API_P95_TARGET_SECONDS = 0.5
DB_QUERY_P95_TARGET_SECONDS = 0.1
QUERIES = {
    "api_p95": ("nzila_http_request_duration_seconds", API_P95_TARGET_SECONDS),
    "db_query_p95": ("nzila_db_query_duration_seconds", DB_QUERY_P95_TARGET_SECONDS),
}
# Prometheus answers are small; a larger one is not what we asked for.
MAX_RESPONSE_BYTES = 1_000_000
# The earliest sample is looked for at 720 points of the period (hourly in a month): data
# beginning within one such step of the period's start counts as the whole period.
EARLIEST_STEPS = 720


class NotMeasured(Exception):
    """Why a figure could not be had: shown as "not measured (<why>)"."""


@dataclass(frozen=True)
class LatencyFigure:
    name: str  # "api_p95" or "db_query_p95"
    seconds: float | None  # None: not measured
    target_seconds: float
    why_not: str = ""  # when not measured

    @property
    def text(self) -> str:
        if self.seconds is None:
            return f"not measured ({self.why_not})"
        return f"{self.seconds * 1000:.0f} ms"

    @property
    def met(self) -> bool | None:
        return None if self.seconds is None else self.seconds < self.target_seconds

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": self.seconds, "target_seconds": self.target_seconds,
                "met": self.met, "text": self.text}  # fmt: skip


def _safe_base(url: str) -> str:
    """The URL without credentials, for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


def _one_line(text: object) -> str:
    """What another server said, as one short line (it ends up in a report line)."""
    return " ".join(str(text).split())[:200]


def query(base_url: str, promql: str, at: datetime, timeout: float) -> float:
    """One instant query's single value; NotMeasured with a one-line reason otherwise."""
    arguments = urlencode({"query": promql, "time": at.timestamp()})
    url = f"{base_url.rstrip('/')}/api/v1/query?{arguments}"
    where = _safe_base(base_url)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # http(s) only: validated
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise NotMeasured(f"Prometheus at {where} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NotMeasured(f"Prometheus at {where} unreachable: {_one_line(reason)}") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise NotMeasured(f"Prometheus at {where} answered more than {MAX_RESPONSE_BYTES} bytes")
    try:
        answer = json.loads(body)
        if answer.get("status") != "success":
            raise NotMeasured(f"Prometheus at {where}: {_one_line(answer.get('error', 'error'))}")
        result = answer["data"]["result"]
        if not result:
            raise NotMeasured("no samples in the period")
        value = float(result[0]["value"][1])
    except NotMeasured:
        raise
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise NotMeasured(
            f"Prometheus at {where} answered something that is not a query result"
        ) from None
    if math.isnan(value) or math.isinf(value):
        # histogram_quantile of no observations is NaN: nothing was measured.
        raise NotMeasured("no requests observed in the period")
    return value


def _earliest_sample(
    base: str, histogram: str, seconds: int, stop: datetime, timeout: float
) -> tuple[float, int]:
    """When the histogram's earliest sample within the period is (epoch seconds), and the
    resolution of that answer: a subquery over the period, one step per 1/720 of it."""
    step = max(60, seconds // EARLIEST_STEPS)
    promql = f"min(min_over_time(timestamp({histogram}_bucket)[{seconds}s:{step}s]))"
    return query(base, promql, stop, timeout), step


def latency_figures(
    start: datetime, end: datetime, now: datetime | None = None
) -> list[LatencyFigure]:
    """The p95 figures of [start, end), measured up to ``now`` (default: the current time)."""
    config = get_config()["SLA"]
    base = config["PROMETHEUS_URL"]
    timeout = float(config["PROMETHEUS_TIMEOUT_SECONDS"])
    stop = min(end, now or timezone.now())
    # Not ``stop - start``: two datetimes of one tzinfo subtract as wall times, an hour off
    # in a month with a DST change.
    seconds = int(stop.timestamp() - start.timestamp())
    figures: list[LatencyFigure] = []
    unreachable = ""
    for name, (histogram, target) in QUERIES.items():
        if base is None:
            figures.append(LatencyFigure(name, None, target, "no PROMETHEUS_URL configured"))
            continue
        if seconds <= 0:
            figures.append(LatencyFigure(name, None, target, "the period has not started"))
            continue
        if unreachable:
            # Waiting out the timeout again would only delay the report.
            figures.append(LatencyFigure(name, None, target, unreachable))
            continue
        promql = f"histogram_quantile(0.95, sum by (le) (increase({histogram}_bucket[{seconds}s])))"
        try:
            earliest, step = _earliest_sample(base, histogram, seconds, stop, timeout)
            if earliest > start.timestamp() + step:
                # Prometheus no longer holds (or never had) the period's beginning: a p95 of
                # the rest would pass for the period's.
                held = datetime.fromtimestamp(earliest, UTC).strftime("%Y-%m-%d %H:%M UTC")
                raise NotMeasured(f"Prometheus holds data from {held} only")
            value = query(base, promql, stop, timeout)
        except NotMeasured as exc:
            unreachable = str(exc) if "unreachable" in str(exc) else ""
            figures.append(LatencyFigure(name, None, target, str(exc)))
        else:
            figures.append(LatencyFigure(name, value, target))
    return figures
