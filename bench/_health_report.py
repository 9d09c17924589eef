"""Table, targets and JSON report of the health benchmark."""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict
from typing import Any

from _health_wrk import Row, RunResult  # sibling modules: bench/ is not a package
from _report import Verdict, fmt, verdicts_json

RPS_RATIO_TARGET = 5.0
P99_TARGET_MS = 25.0


def best(runs: list[RunResult]) -> RunResult | None:
    """The clean run with the most requests/s (the machine's least disturbed one)."""
    clean = [r for r in runs if r.clean and r.wrk is not None]
    return max(clean, key=lambda r: r.wrk.rps or 0.0) if clean else None  # type: ignore[union-attr]


def print_table(rows: list[Row], results: dict[str, list[RunResult]]) -> None:
    header = (
        f"{'row':<28} {'run':>4} {'req/s':>9} {'p50 ms':>8} {'p75 ms':>8} {'p90 ms':>8} "
        f"{'p99 ms':>8} {'requests':>9} {'CPU ms/req':>10} {'load1':>6}"
    )
    print("\nall runs (* = the row's reported run: its best by requests/s)")
    print(header + "\n" + "-" * len(header))
    for row in rows:
        chosen = best(results[row.key])
        for r in results[row.key]:
            mark = "*" if r is chosen else " "
            w = r.wrk
            if w is None or w.rps is None:
                print(f"{row.label:<28} {r.index:>3}{mark} {r.problem()}")
                continue
            note = "" if r.clean else f"  NOT COUNTED: {r.problem()}"
            print(
                f"{row.label:<28} {r.index:>3}{mark} {fmt(w.rps):>9} {fmt(w.p50_ms, '.2f'):>8} "
                f"{fmt(w.p75_ms, '.2f'):>8} {fmt(w.p90_ms, '.2f'):>8} "
                f"{fmt(w.p99_ms, '.2f'):>8} {w.requests or 0:>9} "
                f"{fmt(w.worker_cpu_ms, '.2f'):>10} {r.load1:>6.2f}{note}"
            )


def evaluate(results: dict[str, list[RunResult]]) -> list[Verdict]:
    ours = best(results.get("ours", []))
    theirs = best(results.get("theirs", []))
    ratio_target = f"ours (cache off) req/s >= {RPS_RATIO_TARGET:g} x django-health-check's"
    if ours is None or theirs is None or ours.wrk is None or theirs.wrk is None:
        ratio = Verdict(ratio_target, False, "no clean run of both rows")
    else:
        ours_rps, theirs_rps = ours.wrk.rps or 0.0, theirs.wrk.rps or 0.0
        factor = ours_rps / theirs_rps if theirs_rps else float("inf")
        detail = f"{ours_rps:.1f} / {theirs_rps:.1f} = {factor:.2f} x"
        ratio = Verdict(ratio_target, factor >= RPS_RATIO_TARGET, detail)
    p99_target = f"ours (cache off) p99 <= {P99_TARGET_MS:g} ms"
    p99 = None if ours is None or ours.wrk is None else ours.wrk.p99_ms
    latency = Verdict(
        p99_target,
        p99 is not None and p99 <= P99_TARGET_MS,
        "no clean run" if p99 is None else f"{p99:.2f} ms",
    )
    return [ratio, latency]


def to_json(
    args: argparse.Namespace,
    versions: dict[str, str],
    rows: list[Row],
    results: dict[str, list[RunResult]],
    verdicts: list[Verdict],
) -> dict[str, Any]:
    def run_json(r: RunResult) -> dict[str, Any]:
        return {"run": r.index, "clean": r.clean, "load1": r.load1, "error": r.error,
                "wrk": None if r.wrk is None else asdict(r.wrk)}  # fmt: skip

    return {
        "setup": {
            "gunicorn": "--workers 2 --worker-class sync",
            "wrk": f"-t{args.threads} -c{args.connections} -d{args.duration:g}s --latency",
            "warmup_seconds": args.warmup,
            "runs_per_row": args.runs,
            "reported_run": "best clean run by requests/s",
            "cpus": os.cpu_count(),
            "versions": versions,
        },
        "rows": {
            row.key: {
                "label": row.label,
                "path": row.path,
                "health_cache_seconds": row.cache_seconds,
                "reported": None if (b := best(results[row.key])) is None else run_json(b),
                "runs": [run_json(r) for r in results[row.key]],
            }
            for row in rows
        },
        "targets": verdicts_json(verdicts),
    }
