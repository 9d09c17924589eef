"""One run of the health benchmark: a fresh gunicorn of the bench project, loaded by wrk.

Also what a run yields: wrk's figures, parsed from its report, and the workers' CPU time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from _health_env import BENCH, GUNICORN, bench_env  # sibling modules: bench/ is not a package


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    path: str
    cache_seconds: int


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
