"""The shipped Grafana dashboard's queries, run by a real Prometheus against the example project.

The example project is served by gunicorn (two workers, multiprocess metrics, the hooks of
nzila_ops.observability.gunicorn) on a PostgreSQL database of its own, with Redis as its cache
and Celery broker. It is given what each panel reads: a backup, health samples recorded by a
real Celery worker, a task that failed there, business data, and HTTP traffic (a 404 among it).
Debian's Prometheus scrapes /ops/metrics every second with the bearer token; after the target
is up and has been scraped a few times, every expression of every panel of dashboard.json is
run through Prometheus's query API and must return data, and the metric each panel is built on
must have series of its own, so that a fallback (`or vector(0)`, allowed for the 5xx numerator
only) cannot hide a metric that is missing.
"""

from __future__ import annotations

import math
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from celery import Celery

from nzila_ops.observability.grafana import dashboard
from tests.observability.prometheus_proof_support import (
    FALLBACK,
    Prometheus,
    http_get,
    prometheus_binary,
    prometheus_config,
    runnable,
    selectors,
    start,
    stop,
    tail,
    wait_served,
    wait_until,
)
from tests.support import pg
from tests.support.host import REPO, example_env, manage
from tests.support.listener import bound_listener, gunicorn_bind
from tests.support.s3 import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REDIS_URL = "redis://127.0.0.1:6379/12"  # this test's own Redis database: flushed before and after
# Several views of the example project, one of them a 404 with no route. The status page reads
# Django's cache (Redis here) at each request: the cache hit rate's hits and misses.
TRAFFIC = [
    "/ops/status/",
    "/ops/status.json",
    "/api/vehicles/",
    "/api/deals/",
    "/api/payments/",
    "/api/auth/session/",
    "/ops/health/live",
    "/ops/health/",
    "/admin/login/",
    "/no-such-page/",
]


@dataclass
class Served:
    base: str
    token: str
    env: dict[str, str]
    logs: Path


def run_ok(env: dict[str, str], *args: str) -> str:
    result = manage(env, *args, timeout=300)
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def record_celery_outcomes(env: dict[str, str], logs: Path) -> None:
    """A real worker runs the health sampler (it records every component's state, and succeeds)
    and a drill of a database alias that does not exist (it fails): the outcomes the worker's
    signal receivers write to Redis, where /ops/metrics reads them."""
    worker = start(
        [sys.executable, "-m", "celery", "-A", "nzila_export_hub", "worker", "-P", "solo",
         "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
        logs / "celery.log", cwd=REPO / "example_project", env=env,
    )  # fmt: skip
    client = Celery(broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
    try:
        wait_until(
            "the Celery worker answers a ping",
            lambda: worker.poll() is None and client.control.ping(timeout=0.5),
            60,
            logs / "celery.log",
        )
        for _ in range(2):  # two samples: HEALTH_FAILURES_BEFORE_DOWN counts consecutive ones
            client.send_task("nzila_ops.sample_health").get(timeout=120)
        failed = client.send_task("nzila_ops.run_dr_drill", kwargs={"database": "no_such_alias"})
        failed.get(timeout=120, propagate=False)
        assert failed.state == "FAILURE", (failed.state, tail(logs / "celery.log"))
    finally:
        client.close()
        stop(worker)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The example project, set up and served by gunicorn; everything stopped and dropped after."""
    name = f"nzila_grafana_proof_{uuid.uuid4().hex[:8]}"
    logs = tmp_path / "logs"
    logs.mkdir()
    (tmp_path / "backups").mkdir()
    token = f"proof-{uuid.uuid4().hex}"
    listener = bound_listener()  # handed to gunicorn: no other server can take the port
    port = listener.getsockname()[1]
    env = example_env(
        DATABASE_URL=pg.url(name),
        NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path / 'backups'}",
        NZILA_OPS_METRICS_TOKEN=token,
        CELERY_BROKER_URL=REDIS_URL,
        DJANGO_CACHE_URL=REDIS_URL,
    )
    redis.Redis.from_url(REDIS_URL).flushdb()
    pg.create_database(name)
    gunicorn = None
    try:
        run_ok(env, "migrate", "--no-input", "-v", "0")
        run_ok(env, "seed_demo", "--vehicles", "200")
        run_ok(env, "backup_database")
        record_celery_outcomes(env, logs)
        gunicorn = start(
            [sys.executable, "-m", "gunicorn", "-c", "python:nzila_ops.observability.gunicorn",
             "--workers", "2", *gunicorn_bind(listener), "--timeout", "60",
             "nzila_export_hub.wsgi"],
            logs / "gunicorn.log", cwd=REPO / "example_project",
            # Only the server's: its workers write there and /ops/metrics sums their files.
            env={**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "multiproc")},
            pass_fds=(listener.fileno(),),
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        wait_served(gunicorn, base, 60, logs / "gunicorn.log")
        yield Served(base, token, env, logs)
    finally:
        listener.close()  # gunicorn has its own copy
        if gunicorn is not None:
            stop(gunicorn)
        for leftover in pg.databases_like(name):
            pg.drop_database(leftover)
        redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.fixture
def prometheus(served: Served, tmp_path: Path) -> Iterator[Prometheus]:
    binary = prometheus_binary()
    if binary is None:
        pytest.skip(
            "no prometheus binary: install Debian's package (scripts/setup_host test does, as root)"
        )
    port = free_port()
    config = tmp_path / "prometheus.yml"
    prometheus_config(config, served.base.removeprefix("http://"), served.token)
    process = start(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        served.logs / "prometheus.log",
    )  # fmt: skip
    api = Prometheus(f"http://127.0.0.1:{port}")
    try:
        wait_until(
            "Prometheus is ready",
            lambda: process.poll() is None and http_get(f"{api.base}/-/ready")[0] == 200,
            60,
            served.logs / "prometheus.log",
        )
        yield api
    finally:
        stop(process)


def send_traffic(base: str, until: threading.Event) -> None:
    while not until.is_set():
        for path in TRAFFIC:
            http_get(f"{base}{path}")


def test_every_panel_of_the_dashboard_returns_data_from_a_real_prometheus(
    served: Served, prometheus: Prometheus
) -> None:
    # What Prometheus will be given is what a scrape shows: the token opens it.
    status, body = http_get(f"{served.base}/ops/metrics", token=served.token)
    assert status == 200, body[:300]
    assert http_get(f"{served.base}/ops/metrics")[0] != 200

    done = threading.Event()
    traffic = threading.Thread(target=send_traffic, args=(served.base, done), daemon=True)
    traffic.start()
    try:
        wait_until(
            "the target is up", prometheus.target_up, 60, served.logs / "gunicorn.log",
            why=prometheus.last_scrape_error,
        )  # fmt: skip
        # Traffic between scrapes, so that every rate() has two different samples to compare.
        wait_until(
            "four scrapes", lambda: prometheus.scrapes() >= 4, 60, served.logs / "gunicorn.log",
            why=prometheus.last_scrape_error,
        )  # fmt: skip
    finally:
        done.set()
        traffic.join(timeout=30)

    empty, not_a_number, missing = [], [], []
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            expr = runnable(target["expr"])
            result = prometheus.query(expr)
            if not result:
                empty.append(f"{panel['title']} [{target['refId']}]: {expr}")
            not_a_number += [
                f"{panel['title']} [{target['refId']}]: {sample['metric']} = {sample['value'][1]}"
                for sample in result
                if not math.isfinite(float(sample["value"][1]))
            ]
            # The metric behind the expression has series itself; behind the one fallback
            # allowed (the 5xx numerator, there being no 5xx), the metric's name has them.
            for selector in selectors(expr):
                if FALLBACK.search(expr):
                    selector = selector.split("{", 1)[0]
                if not prometheus.query(selector):
                    missing.append(f"{panel['title']}: {selector}")
    assert empty == [], "panels without data:\n" + "\n".join(empty)
    assert not_a_number == [], "\n".join(not_a_number)
    assert missing == [], "metrics without series:\n" + "\n".join(missing)
