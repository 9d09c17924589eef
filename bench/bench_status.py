"""Benchmark the public status page uncached: /ops/status/ and /ops/status.json.

Usage::

    python bench/bench_status.py
    python bench/bench_status.py --runs 9 --json-out status.json

Setup (untimed): a fresh PostgreSQL database ``nzila_bench_status``, migrated, holding one year
of recorded uptime for 10 components (a flip every 2 to 6 hours, outages of 1 to 30 minutes)
and 2,000 incidents spread over the year (a few still open, one in five with a public title),
all 10 components public. The example project's settings, the dev virtualenv, in this process
(Django's test client: the full view, template and JSON encoding, no HTTP server).

Timed: each URL requested RUNS times (after one warm-up) with SLA.STATUS_CACHE_SECONDS = 0, so
every request computes the page (90 days of daily uptime for 10 components, the current states
and the incidents of 14 days) from the database. The figure is the median.

Target: the HTML page < 100 ms (median of at least 5). The report always exits 0.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Sibling modules: bench/ is not a package.
import _sla_year
from _report import Verdict, fmt
from _sla_year import COMPONENTS, INCIDENTS

DBNAME = "nzila_bench_status"
TARGET_MS = 100.0


def fill(now: datetime, seed: int) -> dict[str, int]:
    """One year of flips per component and INCIDENTS incidents, in bulk."""
    from nzila_ops.models import ComponentState, Incident

    rng = random.Random(seed)
    start = now - timedelta(days=365)
    flips, last = _sla_year.fill_flips(start, now, rng)
    ComponentState.objects.bulk_create(
        ComponentState(component=component, status=status, since=at, last_sampled_at=now)
        for component, (status, at) in last.items()
    )
    incidents = []
    for number in range(INCIDENTS):
        component = rng.choice(COMPONENTS)
        detected = start + timedelta(seconds=rng.uniform(0, 365 * 86400))
        still_open = number < 5
        incidents.append(Incident(
            severity=rng.choice(["P0", "P1", "P2", "P3"]),
            status="triggered" if still_open else "resolved",
            component=component, source="health", key=f"{component}#{number}",
            title=f"{component} is DOWN", detected_at=detected,
            public_title="Slower responses for some customers" if number % 5 == 0 else "",
            resolved_at=None if still_open else detected + timedelta(minutes=rng.randint(5, 300)),
            is_drill=number % 50 == 0,
        ))  # fmt: skip
    Incident.objects.bulk_create(incidents, batch_size=1000)
    _sla_year.analyze()
    return {"flips": flips, "incidents": len(incidents)}


def measure(path: str, runs: int) -> tuple[list[float], list[float]]:
    """Wall times and this process's CPU times (ms) of ``runs`` requests after a warm-up."""
    from django.test import Client

    client = Client(SERVER_NAME="localhost")  # one of the example project's ALLOWED_HOSTS

    def get() -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}: {response.content[:300]!r}")

    timed = _sla_year.time_calls(get, runs)
    return timed.wall_ms, timed.cpu_ms


def main() -> int:
    args = _sla_year.parse_args(__doc__, "timed requests per URL (>= 5)")
    _sla_year.setup_django(args, DBNAME)
    from django.test.utils import override_settings
    from django.utils import timezone

    counts = fill(timezone.now(), args.seed)
    print(f"  {len(COMPONENTS)} components, {counts['flips']} flips over a year, "
          f"{counts['incidents']} incidents", flush=True)  # fmt: skip
    from django.conf import settings

    sla = {"PUBLIC_COMPONENTS": {c: c.replace("_", " ").title() for c in COMPONENTS},
           "STATUS_CACHE_SECONDS": 0}  # fmt: skip
    results: dict[str, Any] = {}
    with override_settings(NZILA_OPS={**settings.NZILA_OPS, "SLA": sla}):
        for path in ("/ops/status/", "/ops/status.json"):
            timings, cpu = measure(path, args.runs)
            results[path] = {"median_ms": statistics.median(timings), "runs_ms": timings,
                             "median_cpu_ms": statistics.median(cpu)}  # fmt: skip
            print(f"  {path:<18} median {fmt(statistics.median(timings))} ms, this process's "
                  f"CPU {fmt(statistics.median(cpu))} ms "
                  f"(runs: {', '.join(fmt(t) for t in timings)})", flush=True)  # fmt: skip
    print(f"  load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    html = results["/ops/status/"]["median_ms"]
    verdicts = [Verdict(f"/ops/status/ uncached < {TARGET_MS:.0f} ms", html < TARGET_MS,
                        f"median {fmt(html)} ms of {args.runs}")]  # fmt: skip
    _sla_year.finish(verdicts, counts, results, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
