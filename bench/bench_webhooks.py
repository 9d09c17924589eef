"""Benchmark the inbound webhooks: 1,000 UptimeRobot and PagerDuty webhooks, most of them
duplicates, against the example project under gunicorn.

Usage::

    python bench/bench_webhooks.py
    python bench/bench_webhooks.py --alerts 100 --copies 5 --clients 4 --json-out webhooks.json

Setup (untimed): ``.bench-venv`` (made by and shared with bench_health.py: nzila_ops and
gunicorn); a fresh PostgreSQL database ``nzila_bench_webhooks``, migrated; the example project
(``example_project/``, settings from the environment as a deployment's) served by ``gunicorn
--workers N`` (sync) with persistent database connections. Celery's broker is Redis db 14: each
incident transition queues its deliveries there as in production (nobody consumes them; the
db is emptied afterwards).

The load: ALERTS distinct UptimeRobot monitors go down (alertType 1), each alert delivered COPIES
times; then PagerDuty acknowledges each of their incidents, each webhook delivered COPIES times
(one X-Webhook-Id). Each phase's deliveries are shuffled and sent by CLIENTS threads at once, so
copies of one alert often arrive together (the second waits for the first's transaction, then
finds its receipt). CLIENTS and WORKERS default to 2, like the CPUs of a small app host.
Latency is measured by the client, per request, from connect to the last byte.

Targets: p99 < 50 ms; exactly one incident per distinct alert, each acknowledged once; every
answer 200 and each delivery's effect once (the others ``duplicate``). The report exits 0.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Sibling modules: bench/ is not a package.
from _health_env import GUNICORN, REPO, SetupError, ensure_bench_venv, run
from _health_wrk import free_port, stop
from _report import Verdict, fmt, print_verdicts, verdicts_json, write_json

DBNAME = "nzila_bench_webhooks"
REDIS_DB = 14
TOKEN = "bench-uptimerobot-token-0123456789abcdef"
SECRET = "bench-pagerduty-secret-0123456789"
P99_TARGET_MS = 50.0
EXAMPLE = REPO / "example_project"


def environment(args: argparse.Namespace) -> dict[str, str]:
    url = f"postgres://{args.user}@{args.host}:{args.port}/{DBNAME}?conn_max_age=60"
    broker = f"{args.redis.rstrip('/')}/{REDIS_DB}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "NZILA_OPS_UPTIMEROBOT_WEBHOOK_TOKEN": TOKEN,
        "NZILA_OPS_PAGERDUTY_WEBHOOK_SECRETS": SECRET,
        "DJANGO_SETTINGS_MODULE": "nzila_export_hub.settings",
        "PYTHONPATH": str(EXAMPLE),
    }


def fresh_database(args: argparse.Namespace) -> None:
    import psycopg  # the development venv's: nzila_ops depends on it
    from psycopg import sql

    try:
        with psycopg.connect(host=args.host, port=args.port, user=args.user, dbname="postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(DBNAME)))  # fmt: skip
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DBNAME)))
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())
        raise SetupError(f"PostgreSQL at {args.host}:{args.port}: {reason}") from None
    python = GUNICORN.parent / "python"
    run([str(python), "manage.py", "migrate", "--no-input", "-v", "0"], env=environment(args),
        cwd=EXAMPLE)  # fmt: skip


def uptimerobot_request(monitor: int) -> tuple[str, str, bytes, dict[str, str]]:
    fields = {"monitorID": str(7_000_000 + monitor), "monitorURL": f"https://m{monitor}.example/",
              "monitorFriendlyName": f"Bench monitor {monitor}", "alertType": "1",
              "alertTypeFriendlyName": "Down", "alertDetails": "Connection Timeout",
              "alertDateTime": str(1_772_445_600 + monitor)}  # fmt: skip
    body = json.dumps(fields).encode()
    return "uptimerobot", f"/ops/webhooks/uptimerobot/{TOKEN}/", body, {}


def pagerduty_request(monitor: int) -> tuple[str, str, bytes, dict[str, str]]:
    event = {"event": {
        "id": f"EV{monitor:06d}", "event_type": "incident.acknowledged",
        "resource_type": "incident", "occurred_at": "2026-03-02T10:05:00Z",
        "agent": {"id": "PLH1HKV", "summary": "Bench Responder", "type": "user_reference"},
        "client": {"name": "PagerDuty"},
        "data": {"id": f"Q{monitor:06d}", "type": "incident", "status": "acknowledged",
                 "incident_key": f"uptimerobot:{7_000_000 + monitor}",
                 "title": f"Bench monitor {monitor} is down", "urgency": "high"},
    }}  # fmt: skip
    body = json.dumps(event).encode()
    signature = "v1=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-PagerDuty-Signature": signature, "X-Webhook-Id": f"W{monitor:06d}"}
    return "pagerduty", "/ops/webhooks/pagerduty/", body, headers


def send_all(port: int, requests: list[Any], clients: int) -> list[tuple[str, int, str, float]]:
    """(kind, status, result, milliseconds) of each request, sent by ``clients`` threads."""
    results: list[tuple[str, int, str, float]] = []
    lock = threading.Lock()
    queue = list(requests)

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                kind, path, body, headers = queue.pop()
            start = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("POST", path, body, {"Content-Type": "application/json", **headers})
                response = conn.getresponse()
                answer = response.read()
            finally:
                conn.close()
            elapsed = (time.perf_counter() - start) * 1000
            try:
                result = json.loads(answer).get("result", "?")
            except ValueError:
                result = "not JSON"
            with lock:
                results.append((kind, response.status, result, elapsed))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def wait_until_up(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SetupError(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ops/health/live")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SetupError("gunicorn did not answer /ops/health/live within 30 s")


def database_facts(args: argparse.Namespace) -> dict[str, int]:
    import psycopg

    with psycopg.connect(host=args.host, port=args.port, user=args.user, dbname=DBNAME) as conn:

        def one(query: str) -> int:
            return int(conn.execute(query).fetchone()[0])  # type: ignore[index]

        return {
            "incidents": one("SELECT count(*) FROM nzila_ops_incident"),
            "acknowledged": one(
                "SELECT count(*) FROM nzila_ops_incident WHERE status = 'acknowledged'"),
            "opened events": one(
                "SELECT count(*) FROM nzila_ops_incidentevent WHERE kind = 'opened'"),
            "acknowledged events": one(
                "SELECT count(*) FROM nzila_ops_incidentevent WHERE kind = 'acknowledged'"),
        }  # fmt: skip


def empty_broker(args: argparse.Namespace) -> None:
    import redis

    redis.Redis.from_url(f"{args.redis.rstrip('/')}/{REDIS_DB}").flushdb()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def report(args: argparse.Namespace, results: list[Any], facts: dict[str, int],
           seconds: float) -> list[Verdict]:  # fmt: skip
    print(f"\n{'requests':<24}{'n':>6}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind in ("uptimerobot", "pagerduty", "all"):
        times = [r[3] for r in results if kind in ("all", r[0])]
        print(f"{kind:<24}{len(times):>6}{fmt(statistics.median(times)):>9}"
              f"{fmt(percentile(times, 90)):>9}{fmt(percentile(times, 99)):>9}"
              f"{fmt(max(times)):>9}")  # fmt: skip
    print(f"{len(results) / seconds:.0f} requests/s with {args.clients} clients, "
          f"{args.workers} gunicorn workers, {os.cpu_count()} CPUs; 1-minute load average "
          f"{os.getloadavg()[0]:.2f} at the end (a busy machine shows in p99 first)")  # fmt: skip
    tally = Counter((kind, result) for kind, _, result, _ in results)
    print("answers: " + ", ".join(f"{k} {r} {n}" for (k, r), n in sorted(tally.items())))
    print("database: " + ", ".join(f"{k} {v}" for k, v in facts.items()))
    p99 = percentile([r[3] for r in results], 99)
    non_200 = sum(1 for r in results if r[1] != 200)
    alerts, copies = args.alerts, args.copies
    expected = Counter({("uptimerobot", "opened"): alerts, ("pagerduty", "acknowledged"): alerts,
                        ("uptimerobot", "duplicate"): alerts * (copies - 1),
                        ("pagerduty", "duplicate"): alerts * (copies - 1)})  # fmt: skip
    once = facts == {"incidents": alerts, "acknowledged": alerts, "opened events": alerts,
                     "acknowledged events": alerts}  # fmt: skip
    return [
        Verdict(f"p99 < {P99_TARGET_MS:g} ms", p99 < P99_TARGET_MS, f"p99 {p99:.1f} ms"),
        Verdict("one incident per distinct alert, acknowledged once", once,
                f"{facts['incidents']} incidents for {alerts} alerts"),
        Verdict("every answer 200, each delivery once", non_200 == 0 and tally == expected,
                f"{non_200} not 200; answers {dict(tally)}"),
    ]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100, help="distinct alerts (monitors)")
    parser.add_argument("--copies", type=int, default=5, help="deliveries of each webhook")
    parser.add_argument("--clients", type=int, default=2, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--upgrade", action="store_true", help="re-install .bench-venv")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(11)
    phases = []
    for build in (uptimerobot_request, pagerduty_request):
        phase = [build(m) for m in range(args.alerts) for _ in range(args.copies)]
        rng.shuffle(phase)
        phases.append(phase)
    try:
        ensure_bench_venv(args.upgrade)
        fresh_database(args)
    except SetupError as exc:
        print(f"cannot run the webhook benchmark: {exc}")
        return 0
    port = free_port()
    log = open(os.devnull, "wb")  # noqa: SIM115  (closed below)
    proc = subprocess.Popen(
        [str(GUNICORN), "--workers", str(args.workers), "--worker-class", "sync",
         "--log-level", "warning", "--bind", f"127.0.0.1:{port}", "nzila_export_hub.wsgi"],
        env=environment(args), cwd=EXAMPLE, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        wait_until_up(proc, port)
        # Untimed: each worker imports the webhook views and opens its database connection.
        send_all(port, [("warm-up", f"/ops/webhooks/uptimerobot/{TOKEN}/", b"{}", {})] * 40,
                 args.clients)  # fmt: skip
        print(f"{args.alerts} alerts x {args.copies} copies, UptimeRobot then PagerDuty: "
              f"{sum(map(len, phases))} webhooks", flush=True)  # fmt: skip
        start = time.perf_counter()
        results = [r for phase in phases for r in send_all(port, phase, args.clients)]
        seconds = time.perf_counter() - start
    except SetupError as exc:
        print(f"cannot run the webhook benchmark: {exc}")
        return 0
    finally:
        stop(proc)
        log.close()
        empty_broker(args)
    verdicts = report(args, results, database_facts(args), seconds)
    print_verdicts(verdicts)
    if args.json_out:
        write_json(
            args.json_out,
            {
                "bench": "webhooks",
                "alerts": args.alerts,
                "copies": args.copies,
                "targets": verdicts_json(verdicts),
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
