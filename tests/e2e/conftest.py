"""The whole stack, as production runs it, for tests/e2e: the example project on a PostgreSQL
database of its own, two redis-servers of its own (the Celery broker, and the Django cache),
moto's S3 server with two buckets (the backup storage and its copy target), the fake PagerDuty,
a Celery worker, Celery beat and gunicorn, each a real process.

Everything is bounded by one deadline, and everything is undone whatever fails: processes
killed (their whole process groups), the Redis servers stopped, buckets emptied and deleted,
the databases (the test's and any a drill or restore made from it) dropped, the work
directory removed (kept, with every process's log, when NZILA_E2E_KEEP_LOGS is set).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.observability.prometheus_proof_support import http_get, start, tail
from tests.support import pg
from tests.support.fake_pagerduty import FakePagerDuty
from tests.support.host import REPO, example_env, manage
from tests.support.listener import bound_listener, gunicorn_bind
from tests.support.redis_process import RedisProcess

#: The whole test, set-up included, is given this long; every wait takes from it.
DEADLINE_SECONDS = 240
#: How often beat samples health in the test (the installed entry says every minute): two
#: failing samples in a row make a component down (HEALTH_FAILURES_BEFORE_DOWN).
SAMPLE_SECONDS = 2
PAGERDUTY_SERVICES = ("API", "Database", "Payments", "Celery", "Auth", "Infrastructure")


@dataclass
class Stack:
    env: dict[str, str]
    database: str
    base_url: str
    metrics_token: str
    cache: RedisProcess
    pagerduty: FakePagerDuty
    s3: Any
    primary_bucket: str
    copy_bucket: str
    logs: Path
    older_backup: str = ""
    deadline: float = field(default_factory=lambda: time.monotonic() + DEADLINE_SECONDS)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def wait(self, what: str, ready: Callable[[], Any], timeout: float = 90) -> Any:
        """Poll ``ready`` until it returns something true, for ``timeout`` seconds at most
        (and never past the deadline); on timeout, fail naming what was awaited."""
        began = time.monotonic()
        until = min(began + timeout, self.deadline)
        while True:
            value = ready()
            if value:
                return value
            if time.monotonic() > until:
                bound = "the test's deadline" if until == self.deadline else "its timeout"
                raise AssertionError(
                    f"waited {time.monotonic() - began:.0f} s ({bound}) for: {what}\n"
                    f"{self.log_tails()}"
                )
            time.sleep(0.5)

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{tail(log, 25)}" for log in sorted(self.logs.glob("*.log"))
        )

    def manage(self, *args: str) -> str:
        """manage.py in its own process, as an operator runs it; it must succeed."""
        assert self.remaining() > 0, f"the test's deadline passed before manage.py {args[0]}"
        result = manage(self.env, *args, timeout=max(self.remaining(), 1), cwd=self.logs)
        assert result.returncode == 0, (
            f"manage.py {' '.join(args)}:\n{result.stdout}{result.stderr}"
        )
        return result.stdout

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """A statement on the deployment's database, outside Django (as psql would)."""
        with psycopg.connect(pg.conninfo(self.database), autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def keys(self, bucket: str) -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {obj["Key"] for page in pages for obj in page.get("Contents", [])}

    def run_now(self, entry: str) -> None:
        """Make a beat entry due now, as if its time had come: its last run is put a month
        back, and the schedule marked changed (what saving the entry in the admin does), so
        beat's DatabaseScheduler reloads it at its next tick."""
        # 40 days back: due under any installed crontab, the weekly drill's included.
        assert self.rows(
            "UPDATE django_celery_beat_periodictask SET last_run_at = now() - interval "
            "'40 days' WHERE name = %s RETURNING id",
            entry,
        ), f"no beat entry {entry!r}"
        self.rows(
            "INSERT INTO django_celery_beat_periodictasks (ident, last_update) VALUES (1, now()) "
            "ON CONFLICT (ident) DO UPDATE SET last_update = now() RETURNING ident"
        )

    def sample_often(self) -> None:
        """The health sampling entry every SAMPLE_SECONDS instead of every minute (a crontab
        cannot say seconds)."""
        (every,) = self.rows(
            "INSERT INTO django_celery_beat_intervalschedule (every, period) "
            "VALUES (%s, 'seconds') RETURNING id",
            SAMPLE_SECONDS,
        )[0]
        assert self.rows(
            "UPDATE django_celery_beat_periodictask SET crontab_id = NULL, interval_id = %s "
            "WHERE name = 'nzila_ops: health sampling' RETURNING id",
            every,
        ), "no beat entry for health sampling"


def _drop_databases(name: str) -> None:
    for leftover in [name, *pg.databases_like(f"{name}_")]:
        pg.drop_database(leftover)


def _delete_bucket(s3: Any, bucket: str) -> None:
    versions = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
    for page in versions:
        for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
    s3.delete_bucket(Bucket=bucket)


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """TERM every process group at once (a warm worker shutdown, gunicorn's graceful one) and
    wait for them together, then KILL whatever of a group is left. TERM is sent again each
    second: beat turns a TERM that lands while it sends a task into a logged error and runs on."""
    until = time.monotonic() + 20
    while time.monotonic() < until and any(p.poll() is None for p in processes):
        for process in processes:
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            for process in processes:
                process.wait(timeout=1)
    for process in processes:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


CELERY = [sys.executable, "-m", "celery", "-A", "nzila_export_hub"]
WORKER = ["worker", "--concurrency", "2", "--without-mingle", "--without-gossip",
          "--loglevel", "INFO", "-n", "e2e@%h"]  # fmt: skip
BEAT = ["beat", "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
        "--loglevel", "INFO"]  # fmt: skip
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:nzila_ops.observability.gunicorn",
            "--workers", "2", "--timeout", "60", "nzila_export_hub.wsgi"]  # fmt: skip


@pytest.fixture
def stack(moto_endpoint: str, age_key: tuple[Path, str]) -> Iterator[Stack]:
    import boto3

    started = time.monotonic()
    with ExitStack() as cleanup:
        work = Path(tempfile.mkdtemp(prefix="nzila-e2e-"))
        if not os.environ.get("NZILA_E2E_KEEP_LOGS"):
            cleanup.callback(shutil.rmtree, work, True)
        logs = work / "logs"
        logs.mkdir()
        (work / "scratch").mkdir(mode=0o700)

        database = f"test_e2e_{os.getpid()}"
        _drop_databases(database)  # what a killed run of a process with this pid left
        pg.create_database(database)
        cleanup.callback(_drop_databases, database)

        # Two Redis servers, as a deployment that keeps its cache apart from its broker has:
        # the test stops the cache's while the broker keeps beat and the worker going.
        broker = RedisProcess(logs / "redis-broker.log")
        cache = RedisProcess(logs / "redis-cache.log")
        for server in (broker, cache):
            cleanup.callback(server.stop)
            server.start()

        s3 = boto3.client(
            "s3", endpoint_url=moto_endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip
        suffix = uuid.uuid4().hex[:8]
        primary, copies = f"nzila-e2e-primary-{suffix}", f"nzila-e2e-copies-{suffix}"
        for bucket in (primary, copies):
            s3.create_bucket(Bucket=bucket)
            cleanup.callback(_delete_bucket, s3, bucket)

        pagerduty = cleanup.enter_context(FakePagerDuty())
        routing_keys = {service: pagerduty.add_routing_key() for service in PAGERDUTY_SERVICES}

        token = f"e2e-{uuid.uuid4().hex}"
        env = example_env(
            DJANGO_SETTINGS_MODULE="tests.support.e2e_settings",
            PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "example_project")]),
            DATABASE_URL=pg.url(database),
            CELERY_BROKER_URL=broker.url(0),
            DJANGO_CACHE_URL=cache.url(0),
            NZILA_OPS_BACKUP_STORAGE=f"s3://{primary}",
            NZILA_E2E_COPY_STORAGE=f"s3://{copies}",
            NZILA_E2E_PAGERDUTY_EVENTS_URL=pagerduty.events_url,
            NZILA_E2E_PAGERDUTY_ROUTING_KEYS=json.dumps(routing_keys),
            NZILA_OPS_AGE_RECIPIENTS=age_key[1],
            NZILA_OPS_AGE_IDENTITY_FILE=str(age_key[0]),
            NZILA_OPS_METRICS_TOKEN=token,
            NZILA_OPS_SCRATCH_DIR=str(work / "scratch"),
            NZILA_OPS_LOG_LEVEL="INFO",
            # Only the newest backup of the current hour is kept, from any age: the backup
            # made before beat starts is the one retention must delete.
            NZILA_OPS_RETENTION=json.dumps(
                {"HOURLY": 1, "DAILY": 0, "WEEKLY": 0, "MONTHLY": 0, "MIN_AGE_MINUTES": 0}
            ),
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=moto_endpoint,
        )
        for leaked in ("SENTRY_DSN", "NZILA_TEST_DB"):
            env.pop(leaked, None)
        listener = bound_listener()  # handed to gunicorn (tests/support/listener.py)
        cleanup.callback(listener.close)
        port = listener.getsockname()[1]
        stack = Stack(
            env=env, database=database, base_url=f"http://127.0.0.1:{port}",
            metrics_token=token, cache=cache, pagerduty=pagerduty, s3=s3,
            primary_bucket=primary, copy_bucket=copies, logs=logs,
            deadline=started + DEADLINE_SECONDS,
        )  # fmt: skip

        processes: list[subprocess.Popen[bytes]] = []
        cleanup.callback(_stop_all, processes)

        def run(name: str, argv: list[str], fds: tuple[int, ...] = (), **extra: str) -> None:
            processes.append(
                start(argv, logs / f"{name}.log", cwd=work, env={**env, **extra}, pass_fds=fds)
            )

        stack.manage("migrate", "--no-input", "-v", "0")
        # The worker and gunicorn boot while the rest is set up; beat comes once its
        # schedule is installed.
        run("worker", CELERY + WORKER)
        run("gunicorn", [*GUNICORN, *gunicorn_bind(listener)],
            fds=(listener.fileno(),), PROMETHEUS_MULTIPROC_DIR=str(work / "multiproc"))  # fmt: skip
        stack.manage("seed_demo", "--vehicles", "200")
        # A backup from before beat starts: retention's to delete (its copy is queued to the
        # worker at once).
        older = json.loads(stack.manage("backup_database", "--type", "hourly", "--json"))
        stack.older_backup = older["name"]
        stack.manage("setup_schedules")
        stack.sample_often()
        stack.run_now("nzila_ops: backup default")
        run("beat", CELERY + BEAT)
        stack.wait(
            "gunicorn serves /ops/health/live",
            lambda: http_get(f"{stack.base_url}/ops/health/live")[0] == 200,
            timeout=60,
        )
        yield stack
