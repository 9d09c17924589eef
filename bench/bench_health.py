"""Benchmark `/ops/health/` against django-health-check, both under gunicorn and loaded by wrk.

Usage::

    python bench/bench_health.py
    python bench/bench_health.py --runs 3 --duration 15 --json-out health.json
    python bench/bench_health.py --upgrade       # re-install, picking up a newer PyPI release

Setup (untimed, reused by later runs): a virtualenv of its own, ``.bench-venv``, with nzila_ops
(editable, ``[dev]``), gunicorn and the latest django-health-check from PyPI, so that package never
enters the development virtualenv; Debian's ``wrk``; the PostgreSQL database
``nzila_bench_health``, migrated. Both endpoints live in one Django project
(``bench/health_settings.py``, ``bench/health_urls.py``): same middleware, database (CONN_MAX_AGE
60), Django cache (RedisCache, db 2) and Redis server (PING on db 1).

Rows, each served by a fresh ``gunicorn --workers 2`` (sync workers) on a free loopback port,
warmed up for 2 s, then loaded with ``wrk -t2 -c8 -d15s --latency``:

  ours:        /ops/health/ with HEALTH_CACHE_SECONDS=0: database, cache and Redis checks on
               every request, as django-health-check does
  theirs:      /ht/?format=json: django-health-check's Database, Cache and Redis checks (JSON,
               like ours; its default HTML page would only cost it more)
  ours-cached: /ops/health/ with HEALTH_CACHE_SECONDS=10, the default
  floor:       /ops/health/live: no check at all, what any Django view costs on this machine

Rows are interleaved (ours, theirs, ours-cached, floor, ours, ...) so that all see the same
machine conditions; a row's figures are those of its best run by requests/s, and every run is
listed. A run with any non-2xx answer or socket error does not count. Besides wrk's figures, each
run reports the gunicorn workers' CPU time per request (from /proc; threads included), steadier
than requests/s on a shared machine, and the 1-minute load average when it started (it includes
the previous run's own load; a much higher one means something else was busy).

Targets, for ours with the result cache off: requests/s >= 5 x theirs, and p99 <= 25 ms. The
report always exits 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Sibling modules: bench/ is not a package.
from _health_env import GUNICORN, SetupError, ensure_bench_venv, ensure_database, ensure_wrk
from _health_report import evaluate, print_table, to_json
from _health_wrk import Row, RunResult, run_once
from _report import fmt, print_verdicts, write_json

ROWS = {
    "ours": Row("ours", "ours, result cache off", "/ops/health/", 0),
    "theirs": Row("theirs", "django-health-check", "/ht/?format=json", 0),
    "ours-cached": Row("ours-cached", "ours, result cache 10 s", "/ops/health/", 10),
    "floor": Row("floor", "floor: /ops/health/live", "/ops/health/live", 0),
}


def progress(run_result: RunResult) -> str:
    w = run_result.wrk
    if run_result.clean and w is not None:
        return (
            f"{w.rps:8.1f} req/s  p50 {fmt(w.p50_ms)}  p99 {fmt(w.p99_ms)} ms  "
            f"CPU {fmt(w.worker_cpu_ms, '.2f')} ms/req  (load {run_result.load1:.2f})"
        )
    return f"NOT COUNTED: {run_result.problem()}"


def run_benchmark(args: argparse.Namespace, rows: list[Row]) -> dict[str, list[RunResult]]:
    help_text = subprocess.run([str(GUNICORN), "--help"], capture_output=True, text=True).stdout
    no_control = "--no-control-socket" in help_text
    results: dict[str, list[RunResult]] = {row.key: [] for row in rows}
    for index in range(1, args.runs + 1):
        for row in rows:
            result = run_once(args, row, index, no_control)
            results[row.key].append(result)
            print(f"  run {index}/{args.runs} {row.key:<12} {progress(result)}", flush=True)
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs per row, interleaved")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of wrk per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of untimed wrk")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--connections", type=int, default=8, help="wrk -c")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"subset of {','.join(ROWS)}")
    parser.add_argument("--upgrade", action="store_true", help="re-install .bench-venv")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--workdir", type=Path, help="keep wrk and gunicorn output here")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.rows.split(",") if k.strip()]
    unknown = set(keys) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows: {', '.join(sorted(unknown))}")
    args.rows = [ROWS[k] for k in keys]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keep = args.workdir is not None
    if keep:
        args.workdir.mkdir(parents=True, exist_ok=True)
    else:
        args.workdir = Path(tempfile.mkdtemp(prefix="nzila-bench-health-"))
    versions: dict[str, str] = {}
    results: dict[str, list[RunResult]] = {row.key: [] for row in args.rows}
    try:
        versions = ensure_bench_venv(args.upgrade)
        args.wrk = ensure_wrk()
        ensure_database(args)
    except SetupError as exc:
        print(f"cannot run the health benchmark: {exc}")
    else:
        print(", ".join(f"{name} {version}" for name, version in versions.items()))
        print(
            f"{os.cpu_count()} CPUs; gunicorn --workers 2 (sync); wrk -t{args.threads} "
            f"-c{args.connections} -d{args.duration:g}s after a {args.warmup:g} s warm-up; "
            f"{args.runs} interleaved runs per row",
            flush=True,
        )
        results = run_benchmark(args, args.rows)
        print_table(args.rows, results)
    verdicts = evaluate(results)
    print_verdicts(verdicts)
    if args.json_out:
        write_json(args.json_out, to_json(args, versions, args.rows, results, verdicts))
    if keep:
        print(f"wrk and gunicorn output kept in {args.workdir}")
    else:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
