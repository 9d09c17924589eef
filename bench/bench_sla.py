"""Benchmark the yearly SLA report: nzila_ops.sla.report.build_report over a year.

Usage::

    python bench/bench_sla.py
    python bench/bench_sla.py --runs 9 --json-out sla.json

Setup (untimed): a fresh PostgreSQL database ``nzila_bench_sla``, migrated, holding one year of
recorded uptime for 10 components (a flip every 2 to 6 hours, outages of 1 to 30 minutes), a
few maintenance windows, 2,000 incidents spread over the year (drills among them), a backup
every 10 minutes (52,560, a few failed) and a drill a week. The example project's settings, the
dev virtualenv, in this process; the 10 components are SLA.COMPONENTS; no Prometheus.

Timed: build_report of the last complete calendar year of that data, RUNS times after one
warm-up: per component and overall uptime with its 12 months and credits, the incident SLA,
the data-protection figures. The figure is the median; the rendered text is printed once.

Target: the yearly report < 300 ms (median of at least 5). The report always exits 0.
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

DBNAME = "nzila_bench_sla"
TARGET_MS = 300.0
COMPONENTS = ["api", "auth_api", "deals_api", "vehicles_api", "payments_api", "database",
              "redis", "celery_workers", "websocket", "admin_portal"]  # fmt: skip
INCIDENTS = 2000


def setup_django(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = f"postgres://{args.user}@{args.host}:{args.port}/{DBNAME}"
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


def fill(start: datetime, end: datetime, seed: int) -> dict[str, int]:
    """[start, end) of flips, windows, incidents, backups and drills, in bulk."""
    from django.db.models import F

    from nzila_ops.models import (
        BackupRecord,
        ComponentFlip,
        DrillRecord,
        Incident,
        MaintenanceWindow,
    )

    rng = random.Random(seed)
    flips = []
    for component in COMPONENTS:
        at, status = start - timedelta(days=1), "ok"
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
    ComponentFlip.objects.bulk_create(flips, batch_size=5000)
    windows = [
        MaintenanceWindow(
            component=rng.choice(["", *COMPONENTS]),
            starts_at=(s := start + timedelta(days=30 * month + 3)),
            ends_at=s + timedelta(hours=2),
            reason="upgrade",
        )
        for month in range(12)
    ]
    MaintenanceWindow.objects.bulk_create(windows)
    incidents = []
    for number in range(INCIDENTS):
        detected = start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))
        incidents.append(Incident(
            severity=rng.choice(["P0", "P1", "P2", "P3"]), status="resolved",
            component=rng.choice(COMPONENTS), source="health", key=f"k{number}",
            title="down", detected_at=detected,
            acknowledged_at=detected + timedelta(minutes=rng.randint(1, 40)),
            resolved_at=detected + timedelta(minutes=rng.randint(5, 300)),
            is_drill=number % 50 == 0,
        ))  # fmt: skip
    Incident.objects.bulk_create(incidents, batch_size=1000)
    # created_at is auto_now_add: opened 1 to 8 minutes after detection, as the sampler does.
    Incident.objects.update(
        created_at=F("detected_at") + timedelta(minutes=1) + (F("id") % 8) * timedelta(minutes=1)
    )
    backups, at = [], start
    while at < end:
        backups.append(BackupRecord(
            name=f"default-{at:%Y%m%dT%H%M%S}", database_alias="default", engine="postgresql",
            status="failed" if rng.random() < 0.002 else "succeeded",
            started_at=at, finished_at=at + timedelta(seconds=40),
        ))  # fmt: skip
        at += timedelta(minutes=10)
    BackupRecord.objects.bulk_create(backups, batch_size=5000)
    drills = [
        DrillRecord(
            backup_name="b",
            database_alias="default",
            started_at=(d := start + timedelta(weeks=w)),
            finished_at=d + timedelta(minutes=12),
            rto_seconds=rng.uniform(300, 1500),
            rto_target_seconds=3600,
            result="passed",
        )
        for w in range(52)
    ]
    DrillRecord.objects.bulk_create(drills)
    from django.db import connection

    with connection.cursor() as cursor:  # what autovacuum does to a live database's tables
        cursor.execute("ANALYZE")
    return {"flips": len(flips), "incidents": len(incidents), "backups": len(backups),
            "drills": len(drills), "maintenance_windows": len(windows)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed reports (>= 5)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PGPORT", "5432"))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    args.runs = max(args.runs, 5)
    print(f"setting up {DBNAME} (untimed)", flush=True)
    setup_django(args)
    from django.conf import settings
    from django.test.utils import override_settings
    from django.utils import timezone

    from nzila_ops.sla.periods import parse_period
    from nzila_ops.sla.render import to_text
    from nzila_ops.sla.report import build_report

    year = str(timezone.now().year - 1)
    with override_settings(NZILA_OPS={**settings.NZILA_OPS, "SLA": {"COMPONENTS": COMPONENTS}}):
        period = parse_period(year)
        counts = fill(period.start, period.end, args.seed)
        print(f"  {len(COMPONENTS)} components, {counts['flips']} flips, {counts['incidents']} "
              f"incidents, {counts['backups']} backups, {counts['drills']} drills in {year}",
              flush=True)  # fmt: skip
        report = build_report(period)  # warm-up
        timings = []
        for _ in range(args.runs):
            began = time.perf_counter()
            report = build_report(period)
            timings.append((time.perf_counter() - began) * 1000)
    median = statistics.median(timings)
    print(f"\nyearly report {year}: median {fmt(median)} ms "
          f"(runs: {', '.join(fmt(t) for t in timings)})\n")  # fmt: skip
    print(to_text(report))
    verdicts = [Verdict(f"yearly SLA report < {TARGET_MS:.0f} ms", median < TARGET_MS,
                        f"median {fmt(median)} ms of {args.runs}")]  # fmt: skip
    print_verdicts(verdicts)
    results: dict[str, Any] = {"median_ms": median, "runs_ms": timings}
    if args.json_out:
        write_json(args.json_out, {"data": counts, "results": results,
                                   "targets": verdicts_json(verdicts)})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
