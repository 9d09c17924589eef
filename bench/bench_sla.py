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

DBNAME = "nzila_bench_sla"
TARGET_MS = 300.0


def fill(start: datetime, end: datetime, seed: int) -> dict[str, int]:
    """[start, end) of flips, windows, incidents, backups and drills, in bulk."""
    from django.db.models import F

    from nzila_ops.models import BackupRecord, DrillRecord, Incident, MaintenanceWindow

    rng = random.Random(seed)
    flips, _ = _sla_year.fill_flips(start - timedelta(days=1), end, rng)
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
    _sla_year.analyze()
    return {"flips": flips, "incidents": len(incidents), "backups": len(backups),
            "drills": len(drills), "maintenance_windows": len(windows)}  # fmt: skip


def main() -> int:
    args = _sla_year.parse_args(__doc__, "timed reports (>= 5)")
    _sla_year.setup_django(args, DBNAME)
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
        timed = _sla_year.time_calls(lambda: build_report(period), args.runs)
    timings, report = timed.wall_ms, timed.last
    median = statistics.median(timings)
    print(f"\nyearly report {year}: median {fmt(median)} ms "
          f"(runs: {', '.join(fmt(t) for t in timings)})\n")  # fmt: skip
    print(to_text(report))
    verdicts = [Verdict(f"yearly SLA report < {TARGET_MS:.0f} ms", median < TARGET_MS,
                        f"median {fmt(median)} ms of {args.runs}")]  # fmt: skip
    results: dict[str, Any] = {"median_ms": median, "runs_ms": timings}
    _sla_year.finish(verdicts, counts, results, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
