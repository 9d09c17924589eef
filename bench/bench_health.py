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
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BENCH_VENV = REPO / ".bench-venv"
BENCH_PYTHON = BENCH_VENV / "bin" / "python"
GUNICORN = BENCH_VENV / "bin" / "gunicorn"
BENCH_PACKAGES = ["gunicorn", "django-health-check[redis]"]
VERSIONS_OF = ["django-health-check", "django", "gunicorn", "redis", "psycopg"]
DBNAME = "nzila_bench_health"

RPS_RATIO_TARGET = 5.0
P99_TARGET_MS = 25.0


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    path: str
    cache_seconds: int


ROWS = {
    "ours": Row("ours", "ours, result cache off", "/ops/health/", 0),
    "theirs": Row("theirs", "django-health-check", "/ht/?format=json", 0),
    "ours-cached": Row("ours-cached", "ours, result cache 10 s", "/ops/health/", 10),
    "floor": Row("floor", "floor: /ops/health/live", "/ops/health/live", 0),
}


class SetupError(Exception):
    """The benchmark cannot run: one line saying why."""


# -- setup ---------------------------------------------------------------------------------


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a setup command; SetupError with the end of its output when it fails."""
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise SetupError(f"{' '.join(argv[:4])} ... failed: {' | '.join(tail)}")
    return proc


def ensure_bench_venv(upgrade: bool) -> dict[str, str]:
    """Create or reuse .bench-venv; returns the installed versions of VERSIONS_OF.

    The stamp follows pyproject.toml, so a change of nzila_ops' dependencies re-installs; pip's
    ``--upgrade`` then also takes the newest django-health-check.
    """
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes())
    digest.update(" ".join(BENCH_PACKAGES).encode())
    stamp = BENCH_VENV / f".installed-{digest.hexdigest()[:12]}"
    if not BENCH_PYTHON.exists():
        print(f"creating {BENCH_VENV.relative_to(REPO)}", flush=True)
        run([sys.executable, "-m", "venv", str(BENCH_VENV)])
    if upgrade or not stamp.exists():
        print("installing nzila_ops[dev], gunicorn, django-health-check (latest)", flush=True)
        pip = [str(BENCH_PYTHON), "-m", "pip", "install", "--quiet"]
        run([*pip, "--upgrade", "pip"])
        run([*pip, "--upgrade", "-e", f"{REPO}[dev]", *BENCH_PACKAGES])
        for old in BENCH_VENV.glob(".installed-*"):
            old.unlink()
        stamp.touch()
    script = (
        "import importlib.metadata as m, json, sys\n"
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    )
    return json.loads(run([str(BENCH_PYTHON), "-c", script, *VERSIONS_OF]).stdout)


def ensure_wrk() -> str:
    """The path of wrk, installed from Debian when missing (needs root)."""
    if not shutil.which("wrk"):
        print("installing wrk (apt-get)", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, capture_output=True, env=env).returncode != 0:
            run(["apt-get", "update", "-qq"], env=env)
            run(install, env=env)
    path = shutil.which("wrk")
    if path is None:
        raise SetupError("wrk is not installed and apt-get could not install it")
    return path


def bench_env(args: argparse.Namespace, cache_seconds: int = 0) -> dict[str, str]:
    """Environment of every process of the bench project (settings: health_settings.py)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "health_settings",
        "PYTHONPATH": str(BENCH),
        "PGHOST": args.host,
        "PGPORT": str(args.port),
        "PGUSER": args.user,
        "BENCH_HEALTH_DB": DBNAME,
        "BENCH_HEALTH_REDIS": args.redis,
        "BENCH_HEALTH_CACHE_SECONDS": str(cache_seconds),
    }


def ensure_database(args: argparse.Namespace) -> None:
    """Create nzila_bench_health if missing and migrate it (nzila_ops, auth, sessions...)."""
    import psycopg  # the development venv's: nzila_ops depends on it
    from psycopg import sql

    try:
        with psycopg.connect(
            host=args.host, port=args.port, user=args.user, dbname="postgres", autocommit=True
        ) as conn:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            if conn.execute(query, (DBNAME,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DBNAME)))
                print(f"created database {DBNAME}", flush=True)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())
        raise SetupError(f"PostgreSQL at {args.host}:{args.port}: {reason}") from None
    run([str(BENCH_PYTHON), "-m", "django", "migrate", "--no-input", "-v", "0"],
        env=bench_env(args), cwd=BENCH)  # fmt: skip


# -- one run -------------------------------------------------------------------------------


@dataclass
class WrkResult:
    rps: float | None = None
    p50_ms: float | None = None
    p75_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    requests: int | None = None
    # CPU time (user + system) of both gunicorn workers, threads included, per request.
    worker_cpu_ms: float | None = None
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)


@dataclass
class RunResult:
    row: str
    index: int
    load1: float
    wrk: WrkResult | None = None
    error: str | None = None

    @property
    def clean(self) -> bool:
        """Measured, and every answer was a 2xx/3xx over a healthy socket."""
        return (
            self.error is None
            and self.wrk is not None
            and self.wrk.rps is not None
            and self.wrk.non_2xx == 0
            and not any(self.wrk.socket_errors.values())
        )

    def problem(self) -> str:
        if self.error:
            return self.error
        if self.wrk is None or self.wrk.rps is None:
            return "wrk output not understood"
        problems = []
        if self.wrk.non_2xx:
            problems.append(f"{self.wrk.non_2xx} non-2xx answers")
        errors = {k: v for k, v in self.wrk.socket_errors.items() if v}
        if errors:
            problems.append("socket errors " + ", ".join(f"{k} {v}" for k, v in errors.items()))
        return "; ".join(problems)


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> WrkResult:
    """Requests/s, the --latency percentiles (in ms) and the error counts of wrk's report."""
    result = WrkResult()
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result.rps = float(match.group(1))
    for pct in ("50", "75", "90", "99"):
        if match := re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M):
            value = float(match.group(1)) * UNITS_MS[match.group(2)]
            setattr(result, f"p{pct}_ms", value)
    if match := re.search(r"(\d+) requests in", output):
        result.requests = int(match.group(1))
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        result.non_2xx = int(match.group(1))
    pattern = r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
    if match := re.search(pattern, output):
        names = ("connect", "read", "write", "timeout")
        result.socket_errors = dict(zip(names, map(int, match.groups()), strict=True))
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def healthy_body(row: Row, body: bytes) -> str | None:
    """Why the answer is not an all-healthy one, or None: a 200 must really mean three checks."""
    try:
        data = json.loads(body)
    except ValueError:
        return f"answer is not JSON: {body[:80]!r}"
    if row.key == "floor":
        return None if data == {"status": "ok"} else f"unexpected answer {data}"
    if row.key == "theirs":
        ok = len(data) == 3 and set(data.values()) == {"OK"}
    else:
        ok = data.get("status") == "ok" and len(data.get("checks", {})) == 3
    return None if ok else f"not three healthy checks: {data}"


@contextlib.contextmanager
def gunicorn(
    args: argparse.Namespace, row: Row, no_control_socket: bool
) -> Iterator[tuple[str, int]]:
    """A running `gunicorn --workers 2` of the bench project; yields its base URL and pid."""
    port = free_port()
    argv = [str(GUNICORN), "--workers", "2", "--worker-class", "sync", "--log-level", "warning",
            "--bind", f"127.0.0.1:{port}", "--chdir", str(BENCH)]  # fmt: skip
    if no_control_socket:
        argv.append("--no-control-socket")
    argv.append("django.core.wsgi:get_wsgi_application()")
    log = (args.workdir / f"gunicorn-{row.key}.log").open("w")
    proc = subprocess.Popen(
        argv, env=bench_env(args, row.cache_seconds), cwd=BENCH, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, base + row.path, row, args.workdir / f"gunicorn-{row.key}.log")
        yield base, proc.pid
    finally:
        stop(proc)
        log.close()


def wait_until_up(proc: subprocess.Popen[bytes], url: str, row: Row, log: Path) -> None:
    """Return once ``url`` answers an all-healthy 200; RuntimeError saying why it does not.

    Up to 30 s for gunicorn to start; once it answers, a few seconds for a failing check to
    recover (a dependency down is not worth waiting 30 s for in every run)."""
    deadline = time.monotonic() + 30
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text().strip().splitlines()[-1:] or ["(no output)"]
            raise RuntimeError(f"gunicorn exited with {proc.returncode}: {tail[0]}")
        with contextlib.suppress(OSError):
            status, body = fetch(url)
            last = f"HTTP {status}: {body[:160]!r}"
            problem = healthy_body(row, body) if status == 200 else last
            if problem is None:
                return
            deadline = min(deadline, time.monotonic() + 5)
            last = problem
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer a healthy 200 ({last})")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the gunicorn master (it stops its workers), SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def workers_cpu_seconds(master_pid: int) -> float | None:
    """utime + stime of the master's children (the workers), from /proc; None elsewhere."""
    ticks, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == master_pid:  # fields: state ppid ... utime(11) stime(12)
                ticks += int(fields[11]) + int(fields[12])
                found = True
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


def run_wrk(args: argparse.Namespace, url: str, seconds: float) -> str:
    argv = [args.wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s",
            "--timeout", "5s", "--latency", url]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def run_once(args: argparse.Namespace, row: Row, index: int, no_control: bool) -> RunResult:
    result = RunResult(row.key, index, round(os.getloadavg()[0], 2))
    try:
        with gunicorn(args, row, no_control) as (base, pid):
            url = base + row.path
            run_wrk(args, url, args.warmup)
            cpu_before = workers_cpu_seconds(pid)
            output = run_wrk(args, url, args.duration)
            cpu_after = workers_cpu_seconds(pid)
        (args.workdir / f"wrk-{row.key}-{index}.txt").write_text(output)
        result.wrk = parse_wrk(output)
        if cpu_before is not None and cpu_after is not None and result.wrk.requests:
            result.wrk.worker_cpu_ms = (cpu_after - cpu_before) * 1000 / result.wrk.requests
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        result.error = str(exc).splitlines()[0][:300]
    return result


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


# -- report --------------------------------------------------------------------------------


def best(runs: list[RunResult]) -> RunResult | None:
    """The clean run with the most requests/s (the machine's least disturbed one)."""
    clean = [r for r in runs if r.clean and r.wrk is not None]
    return max(clean, key=lambda r: r.wrk.rps or 0.0) if clean else None  # type: ignore[union-attr]


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


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


@dataclass(frozen=True)
class Verdict:
    target: str
    passed: bool
    detail: str


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


def print_verdicts(verdicts: list[Verdict]) -> None:
    print("\ntargets:")
    for v in verdicts:
        print(f"  {'PASS' if v.passed else 'MISS'}  {v.target}: {v.detail}")


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
        "targets": [{"target": v.target, "pass": v.passed, "detail": v.detail} for v in verdicts],
    }


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
        payload = to_json(args, versions, args.rows, results, verdicts)
        args.json_out.write_text(json.dumps(payload, indent=2))
        print(f"\nJSON written to {args.json_out}")
    if keep:
        print(f"wrk and gunicorn output kept in {args.workdir}")
    else:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
