"""Benchmark /ops/metrics: the cost of a scrape, and what MetricsMiddleware adds to a request.

Usage::

    python bench/bench_metrics.py
    python bench/bench_metrics.py --runs 9 --requests 5000 --json-out metrics.json

In one process, through Django's WSGI handler called directly (no server, no sockets: what is
measured is the app's own cost), with the example project's settings on a PostgreSQL database of
its own (``nzila_bench_metrics``, created and migrated if missing; ``bench/metrics_settings.py``,
``bench/metrics_urls.py``):

1. Scrape: traffic over 50 routes (GET 200 on several ids each, POSTs refused by CSRF, unrouted
   404s; cache reads, queries), 10 components in ComponentState, then ``GET /ops/metrics`` with
   the bearer token, timed end to end (request-side metrics and the scrape-time
   StateCollector). Median of ``--scrapes``; target < 50 ms. Twice: in this process (its own
   registry), and in a child process in gunicorn's multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
   the traffic made by it and a forked "second worker", so the scrape merges two workers' files).
2. Middleware: the same plain view through two handlers, the example project's MIDDLEWARE with
   and without MetricsMiddleware, interleaved run by run (``--runs`` runs of ``--requests``
   requests each), in CPU time of this process. Added time per request = the median over runs
   of (with - without); target < 0.2 ms.

The report always exits 0.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for entry in (BENCH, REPO, REPO / "example_project"):
    sys.path.insert(0, str(entry))
# Sibling modules: bench/ is not a package.
from _report import Verdict, fmt, print_verdicts, verdicts_json, write_json  # noqa: E402

METRICS_MIDDLEWARE = "nzila_ops.observability.metrics.middleware.MetricsMiddleware"
COMPONENTS = 10
SCRAPE_TARGET_MS = 50.0
ADDED_TARGET_MS = 0.2
Handler = Callable[[dict[str, Any], Callable[..., Any]], Any]


def ensure_database(name: str) -> None:
    """Create the benchmark's database if missing (migrated after django.setup())."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"created database {name}", flush=True)


def environ(path: str, method: str = "GET", **headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    env.update(headers)
    return env


def call(handler: Handler, env: dict[str, Any]) -> tuple[str, bytes]:
    """One request as a WSGI server makes it: call, read the body, close (request_finished)."""
    status: list[str] = []
    result = handler(env, lambda s, h, exc_info=None: status.append(s))
    try:
        body = b"".join(result)
    finally:
        result.close()
    return status[0], body


def handlers() -> tuple[Handler, Handler]:
    """(with MetricsMiddleware, without it): the example project's MIDDLEWARE otherwise."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    with_it = WSGIHandler()
    without = [m for m in settings.MIDDLEWARE if m != METRICS_MIDDLEWARE]
    assert len(without) == len(settings.MIDDLEWARE) - 1, "MetricsMiddleware not in MIDDLEWARE"
    with override_settings(MIDDLEWARE=without):
        bare = WSGIHandler()
    return with_it, bare


def seed_components() -> None:
    from django.utils import timezone

    from nzila_ops.models import ComponentState

    now = timezone.now()
    for i in range(COMPONENTS):
        ComponentState.objects.update_or_create(
            component=f"bench_component_{i}",
            defaults={
                "status": ("ok", "warning", "failing")[i % 3],
                "since": now,
                "last_sampled_at": now,
            },
        )


def traffic(handler: Handler, views: int) -> int:
    """Requests over every route, several ids, methods and statuses; returns how many."""
    made = 0
    for i in range(views):
        for pk in range(1, 5):
            call(handler, environ(f"/api/v{i}/{pk}/"))
            made += 1
        call(handler, environ(f"/api/v{i}/1/", "POST"))  # CSRF: 403
        call(handler, environ(f"/scanner/{i}/wp-login.php"))  # unrouted: 404
        made += 2
    return made


def measure_scrapes(handler: Handler, scrapes: int, token: str) -> dict[str, Any]:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    status, body = call(handler, environ("/ops/metrics", **auth))  # untimed: imports, plans
    if not status.startswith("200"):
        raise SystemExit(f"/ops/metrics answered {status}: {body[:200]!r}")
    times = []
    for _ in range(scrapes):
        start = time.perf_counter()
        call(handler, environ("/ops/metrics", **auth))
        times.append((time.perf_counter() - start) * 1000)
    lines = [line for line in body.decode().splitlines() if line and not line.startswith("#")]
    parts = part_times(scrapes)
    return {
        **parts,
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "runs_ms": times,
        "samples": len(lines),
        "bytes": len(body),
    }


def part_times(scrapes: int) -> dict[str, float]:
    """Medians of the scrape's two parts alone: request side (read and written) and state."""
    from nzila_ops.observability.metrics import view
    from nzila_ops.observability.metrics.exposition import render

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    request_side = view.FilesCollector(directory) if directory else view.RequestSideCollector()
    request_ms, state_ms = [], []
    for _ in range(scrapes):
        start = time.perf_counter()
        render(request_side.collect())
        request_ms.append((time.perf_counter() - start) * 1000)
        state = view.state_collector()
        start = time.perf_counter()
        if state is not None:
            render(state.collect())
        state_ms.append((time.perf_counter() - start) * 1000)
    return {
        "request_side_median_ms": statistics.median(request_ms),
        "state_median_ms": statistics.median(state_ms),
    }


def time_requests(handler: Handler, count: int) -> float:
    """CPU seconds of this process for ``count`` requests to /plain/: all the work is ours (no
    I/O), and CPU time does not count the time other processes of a shared machine took."""
    gc.collect()
    gc.disable()  # a collection landing in one arm's block would be charged to that arm
    try:
        start = time.process_time()
        for _ in range(count):
            call(handler, environ("/plain/"))
        return time.process_time() - start
    finally:
        gc.enable()


def measure_middleware(with_it: Handler, bare: Handler, runs: int, count: int) -> dict[str, Any]:
    time_requests(with_it, count // 5)  # warm-up, untimed
    time_requests(bare, count // 5)
    per_with, per_without, added = [], [], []
    for index in range(runs):
        # Alternate which goes first, so neither always runs on a warmer machine.
        order = [(with_it, per_with), (bare, per_without)]
        for handler, sink in order if index % 2 == 0 else reversed(order):
            sink.append(time_requests(handler, count) / count * 1000)
        added.append(per_with[-1] - per_without[-1])
        print(
            f"  run {index + 1}/{runs}: with {per_with[-1] * 1000:.1f} us/req, "
            f"without {per_without[-1] * 1000:.1f} us/req, added {added[-1] * 1000:+.1f} us",
            flush=True,
        )
    return {
        "with_ms": statistics.median(per_with),
        "without_ms": statistics.median(per_without),
        "added_ms": statistics.median(added),
        "added_runs_ms": added,
    }


def setup_django(migrate: bool) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0, interactive=False)
    seed_components()


def multiprocess_child(args: argparse.Namespace) -> int:
    """Scrape in multiprocess mode (PROMETHEUS_MULTIPROC_DIR set by the parent before this
    process imported prometheus_client): the traffic is made by this process and a forked one,
    two workers' files, as under ``gunicorn --workers 2``. Prints the figures as JSON."""
    from django.conf import settings
    from django.db import connections

    setup_django(migrate=False)
    import metrics_urls

    with_it, _ = handlers()
    traffic(with_it, metrics_urls.VIEWS)
    connections.close_all()  # the other worker opens its own
    pid = os.fork()
    if pid == 0:
        traffic(with_it, metrics_urls.VIEWS)
        os._exit(0)
    os.waitpid(pid, 0)
    files = len(list(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db")))
    scrape = measure_scrapes(with_it, args.scrapes, settings.TOKEN)
    print(json.dumps({**scrape, "files": files}))
    return 0


def run_multiprocess(args: argparse.Namespace) -> dict[str, Any] | None:
    with tempfile.TemporaryDirectory(prefix="nzila-bench-metrics-") as directory:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
        argv = [sys.executable, __file__, "--multiprocess-child", "--scrapes", str(args.scrapes)]
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        print(f"multiprocess scrape failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        return None
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def print_scrape(title: str, scrape: dict[str, Any], scrapes: int) -> None:
    print(
        f"{title}: median {fmt(scrape['median_ms'], '.2f')} ms "
        f"(min {fmt(scrape['min_ms'], '.2f')}, max {fmt(scrape['max_ms'], '.2f')}; "
        f"{scrapes} scrapes; {scrape['samples']} samples, {scrape['bytes']} bytes); parts alone: "
        f"request side {fmt(scrape['request_side_median_ms'], '.2f')} ms, state "
        f"{fmt(scrape['state_median_ms'], '.2f')} ms",
        flush=True,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=15, help="timed scrapes (>= 5)")
    parser.add_argument("--runs", type=int, default=21, help="interleaved runs per arm (>= 5)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per run")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--multiprocess-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scrapes < 5 or args.runs < 5:
        parser.error("--scrapes and --runs take medians of 5 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = "metrics_settings"
    if args.multiprocess_child:
        return multiprocess_child(args)
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # one process: its own registry
    database = os.environ.get("BENCH_METRICS_DB", "nzila_bench_metrics")
    try:
        ensure_database(database)
    except Exception as exc:  # one line, whatever the driver raises
        print(f"cannot run the metrics benchmark: PostgreSQL: {' '.join(str(exc).split())}")
        return 0
    from django.conf import settings

    setup_django(migrate=True)
    import metrics_urls

    with_it, bare = handlers()
    made = traffic(with_it, metrics_urls.VIEWS)
    print(
        f"{os.cpu_count()} CPUs; Django WSGI handler called in-process; database {database}; "
        f"{made} requests over {metrics_urls.VIEWS} routes, {COMPONENTS} components",
        flush=True,
    )
    scrape = measure_scrapes(with_it, args.scrapes, settings.TOKEN)
    print_scrape("scrape /ops/metrics, one process", scrape, args.scrapes)
    multi = run_multiprocess(args)
    if multi is not None:
        print_scrape(
            f"scrape /ops/metrics, multiprocess ({multi['files']} files of 2 workers)",
            multi,
            args.scrapes,
        )
    print(f"middleware: {args.runs} interleaved runs of {args.requests} requests to /plain/")
    middleware = measure_middleware(with_it, bare, args.runs, args.requests)
    print(
        f"middleware: with {middleware['with_ms'] * 1000:.1f} us/req, without "
        f"{middleware['without_ms'] * 1000:.1f} us/req, added {middleware['added_ms'] * 1000:.1f} "
        "us/req (median of the runs' differences)"
    )
    worst = max(scrape["median_ms"], multi["median_ms"] if multi else float("inf"))
    verdicts = [
        Verdict(
            f"scrape after 50 views and 10 components < {SCRAPE_TARGET_MS:g} ms",
            worst < SCRAPE_TARGET_MS,
            f"median {scrape['median_ms']:.2f} ms in one process, "
            + (f"{multi['median_ms']:.2f} ms multiprocess" if multi else "multiprocess failed"),
        ),
        Verdict(
            f"MetricsMiddleware adds < {ADDED_TARGET_MS:g} ms per request",
            middleware["added_ms"] < ADDED_TARGET_MS,
            f"{middleware['added_ms'] * 1000:.1f} us",
        ),
    ]
    print_verdicts(verdicts)
    if args.json_out:
        payload = {
            "scrape": scrape,
            "scrape_multiprocess": multi,
            "middleware": middleware,
            "requests_of_traffic": made,
            "targets": verdicts_json(verdicts),
        }
        write_json(args.json_out, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
