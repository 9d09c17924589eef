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

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "example_project"))
# Sibling module: bench/ is not a package.
from _report import Verdict, fmt, print_verdicts, verdicts_json, write_json  # noqa: E402

DBNAME = "nzila_bench_status"
TARGET_MS = 100.0
COMPONENTS = ["api", "auth_api", "deals_api", "vehicles_api", "payments_api", "database",
              "redis", "celery_workers", "websocket", "admin_portal"]  # fmt: skip
INCIDENTS = 2000


def setup_django(args: argparse.Namespace) -> None:
    url = f"postgres://{args.user}@{args.host}:{args.port}/{DBNAME}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nzila_export_hub.settings")
    import psycopg

    admin = f"host={args.host} port={args.port} user={args.user} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DBNAME}")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(now: datetime, seed: int) -> dict[str, int]:
    """One year of flips per component and INCIDENTS incidents, in bulk."""
    from nzila_ops.models import ComponentFlip, ComponentState, Incident

    rng = random.Random(seed)
    start = now - timedelta(days=365)
    flips = []
    for component in COMPONENTS:
        at, status = start, "ok"
        flips.append(ComponentFlip(component=component, old="", new="ok", at=at))
        while True:
            at += timedelta(minutes=rng.randint(1, 30) if status == "failing" else
                            rng.randint(120, 360))  # fmt: skip
            if at >= now:
                break
            new = "ok" if status != "ok" else rng.choice(["failing", "failing", "warning"])
            flips.append(ComponentFlip(component=component, old=status, new=new, at=at,
                                       reason=f"{component} probe: timeout"))  # fmt: skip
            status = new
        ComponentState.objects.create(component=component, status=status, since=at,
                                      last_sampled_at=now)  # fmt: skip
    ComponentFlip.objects.bulk_create(flips, batch_size=5000)
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
    from django.db import connection

    with connection.cursor() as cursor:  # what autovacuum does to a live database's tables
        cursor.execute("ANALYZE")
    return {"flips": len(flips), "incidents": len(incidents)}


def measure(path: str, runs: int) -> tuple[list[float], list[float]]:
    """Wall times and this process's CPU times (ms) of ``runs`` requests. The CPU time leaves
    out the database server's work but not other load on the machine's cores: on a busy machine
    it is the steadier of the two."""
    from django.test import Client

    client = Client(SERVER_NAME="localhost")  # one of the example project's ALLOWED_HOSTS
    warm_up = client.get(path)
    if warm_up.status_code != 200:
        raise SystemExit(f"{path} answered {warm_up.status_code}: {warm_up.content[:300]!r}")
    wall, cpu = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed requests per URL (>= 5)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PGPORT", "5432"))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    args.runs = max(args.runs, 5)
    print(f"setting up {DBNAME} (untimed)", flush=True)
    setup_django(args)
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
    print_verdicts(verdicts)
    if args.json_out:
        write_json(args.json_out, {"data": counts, "results": results,
                                   "targets": verdicts_json(verdicts)})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
