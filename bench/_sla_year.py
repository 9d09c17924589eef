"""What ``bench_sla.py`` and ``bench_status.py`` share: a fresh database and a year of uptime.

Both time a view of one year of recorded uptime for the same 10 components and 2,000
incidents. Here: their options, the database (dropped, created, migrated), the flips, the
timing loop and the end of the report. Each script keeps the data only it needs (bench_sla:
maintenance windows, backups, drills; bench_status: current states, open incidents, public
titles) and builds its own incidents, since the two draw them differently from the seed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any, Generic, TypeVar

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
# Sibling module: bench/ is not a package.
from _report import Verdict, print_verdicts, verdicts_json, write_json  # noqa: E402

COMPONENTS = ["api", "auth_api", "deals_api", "vehicles_api", "payments_api", "database",
              "redis", "celery_workers", "websocket", "admin_portal"]  # fmt: skip
INCIDENTS = 2000
T = TypeVar("T")


def parse_args(doc: str, runs_help: str) -> argparse.Namespace:
    """The options of both scripts; ``--runs`` is raised to at least 5."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help=runs_help)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PGPORT", "5432"))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    args.runs = max(args.runs, 5)
    return args


def setup_django(args: argparse.Namespace, dbname: str) -> None:
    """A fresh ``dbname`` (dropped first), migrated, with the example project's settings."""
    print(f"setting up {dbname} (untimed)", flush=True)
    sys.path.insert(0, str(REPO / "example_project"))
    os.environ["DATABASE_URL"] = f"postgres://{args.user}@{args.host}:{args.port}/{dbname}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nzila_export_hub.settings")
    import psycopg

    admin = f"host={args.host} port={args.port} user={args.user} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {dbname}")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill_flips(
    first_at: datetime, end: datetime, rng: Random
) -> tuple[int, dict[str, tuple[str, datetime]]]:
    """Save each component's flips from ``first_at`` (ok) until ``end``, in bulk: a flip every
    2 to 6 hours, outages of 1 to 30 minutes. Returns how many, and per component its status at
    ``end`` with the time of the first flip that fell at or after ``end`` (not saved)."""
    from nzila_ops.models import ComponentFlip

    flips, last = [], {}
    for component in COMPONENTS:
        at, status = first_at, "ok"
        flips.append(ComponentFlip(component=component, old="", new="ok", at=at))
        while True:
            at += timedelta(minutes=rng.randint(1, 30) if status == "failing" else
                            rng.randint(120, 360))  # fmt: skip
            if at >= end:
                break
            new = "ok" if status != "ok" else rng.choice(["failing", "failing", "warning"])
            flips.append(ComponentFlip(component=component, old=status, new=new, at=at,
                                       reason=f"{component} probe: timeout"))  # fmt: skip
            status = new
        last[component] = (status, at)
    ComponentFlip.objects.bulk_create(flips, batch_size=5000)
    return len(flips), last


def analyze() -> None:
    """ANALYZE the filled database, as autovacuum does to a live database's tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@dataclass(frozen=True)
class Timings(Generic[T]):
    wall_ms: list[float]
    cpu_ms: list[float]
    last: T


def time_calls(call: Callable[[], T], runs: int) -> Timings[T]:
    """One untimed warm-up call, then ``runs`` timed ones: wall time and this process's CPU
    time (ms), and what the last call returned. The CPU time leaves out the database server's
    work but not other load on the machine's cores: on a busy machine it is the steadier."""
    result = call()
    wall, cpu = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = call()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return Timings(wall, cpu, result)


def finish(
    verdicts: list[Verdict], counts: dict[str, int], results: dict[str, Any], json_out: Path | None
) -> None:
    """Print the verdicts and, with ``--json-out``, write the JSON report."""
    print_verdicts(verdicts)
    if json_out:
        write_json(json_out, {"data": counts, "results": results,
                              "targets": verdicts_json(verdicts)})  # fmt: skip
