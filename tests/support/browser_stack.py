"""The example project as a deployment runs it, for the browser tests: gunicorn (one worker,
four threads) on a PostgreSQL database of its own, Redis as Celery broker and Django cache on a
database number of its own, a real Celery worker (solo pool), static files collected and served
by the project itself, a backup to restore, a superuser and a staff user who may look at
backups but not restore them, an open incident and health samples."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis
from celery import Celery

from tests.observability.prometheus_proof_support import http_get, start, stop, tail, wait_until
from tests.support import pg
from tests.support.host import REPO, example_env, manage
from tests.support.s3 import free_port

REDIS_URL = "redis://127.0.0.1:6379/13"  # the browser tests' own Redis database
PASSWORD = "browser-test-password"
SUPERUSER = "ops-admin"
STAFF = "ops-viewer"  # staff, may view backups, does not hold nzila_ops.restore_backup

# One `manage.py shell` instead of a process per step: each costs a Django start-up.
SET_UP = f"""
from django.contrib.auth.models import Permission, User
from nzila_ops.incidents import service

User.objects.create_superuser({SUPERUSER!r}, "ops@example.com", {PASSWORD!r})
viewer = User.objects.create_user({STAFF!r}, "viewer@example.com", {PASSWORD!r}, is_staff=True)
viewer.user_permissions.add(*Permission.objects.filter(
    content_type__app_label="nzila_ops", codename__in=["view_backuprecord", "view_incident"]))
incident, _ = service.open_incident(
    key="payments_api", component="payments_api", severity="P1", source="manual",
    title="payments_api is DOWN", detail="HTTP 503 from /api/payments/ (3 checks in a row)")
print(incident.pk)
"""


# Two samples: a component is down only after consecutive failures.
SAMPLE = "from nzila_ops.health.uptime import sample_health; sample_health(); sample_health()"


@dataclass
class Stack:
    base: str
    env: dict[str, str]
    dbname: str
    logs: Path
    incident_pk: int

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of the served database, read as an operator's psql would."""
        with psycopg.connect(pg.conninfo(self.dbname)) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def databases(self) -> list[str]:
        """The served database and any other whose name starts with it (a kept copy)."""
        return pg.databases_like(self.dbname)

    def log_tail(self) -> str:
        return "\n".join(f"== {log.name}\n{tail(log)}" for log in sorted(self.logs.glob("*.log")))


def run_ok(env: dict[str, str], *args: str) -> str:
    result = manage(env, *args, timeout=300)
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


@contextmanager
def browser_stack(root: Path, age_key: tuple[Path, str]) -> Iterator[Stack]:
    """Everything up, then stopped, dropped and flushed after, whatever failed."""
    from django.db import connections

    name = f"test_browser_{os.getpid()}"
    s = connections["default"].settings_dict
    logs, backups, static = root / "logs", root / "backups", root / "static"
    for directory in (logs, backups):
        directory.mkdir()
    port = free_port()
    env = example_env(
        DATABASE_URL=f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{name}",
        NZILA_OPS_BACKUP_STORAGE=f"file://{backups}",
        NZILA_OPS_AGE_RECIPIENTS=age_key[1],
        NZILA_OPS_AGE_IDENTITY_FILE=str(age_key[0]),
        CELERY_BROKER_URL=REDIS_URL,
        DJANGO_CACHE_URL=REDIS_URL,
        DJANGO_STATIC_ROOT=str(static),
        NZILA_OPS_NOTIFY_ON_SUCCESS="off",
        DJANGO_SETTINGS_MODULE="tests.browser.settings",
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "example_project")]),
    )
    with ExitStack() as cleanup:
        for leftover in pg.databases_like(name):  # a run killed before its clean-up
            pg.drop_database(leftover)
        redis.Redis.from_url(REDIS_URL).flushdb()
        pg.create_database(name)
        cleanup.callback(redis.Redis.from_url(REDIS_URL).flushdb)
        cleanup.callback(lambda: [pg.drop_database(db) for db in pg.databases_like(name)])

        run_ok(env, "migrate", "--no-input", "-v", "0")
        run_ok(env, "seed_demo", "--vehicles", "200")
        run_ok(env, "backup_database", "--type", "manual")
        run_ok(env, "collectstatic", "--no-input", "-v", "0")
        incident_pk = int(run_ok(env, "shell", "-c", SET_UP).split()[-1])

        worker = start(
            [sys.executable, "-m", "celery", "-A", "nzila_export_hub", "worker", "-P", "solo",
             "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
            logs / "celery.log", cwd=REPO / "example_project", env=env,
        )  # fmt: skip
        cleanup.callback(stop, worker)
        gunicorn = start(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4",
             "--bind", f"127.0.0.1:{port}", "--timeout", "120", "nzila_export_hub.wsgi"],
            logs / "gunicorn.log", cwd=REPO / "example_project", env=env,
        )  # fmt: skip
        cleanup.callback(stop, gunicorn)

        client = Celery(broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
        cleanup.callback(client.close)
        wait_until(
            "the Celery worker answers a ping",
            lambda: worker.poll() is None and client.control.ping(timeout=0.5),
            90,
            logs / "celery.log",
        )
        # Health samples for the overview, the status page and the SLA report, taken beside
        # the worker (whose celery_workers check pings it): a solo worker running the sampler
        # itself could not answer its own ping while the task runs, and would be found down.
        run_ok(env, "shell", "-c", SAMPLE)
        base = f"http://127.0.0.1:{port}"
        wait_until(
            "gunicorn serves /ops/health/live",
            lambda: gunicorn.poll() is None and http_get(f"{base}/ops/health/live")[0] == 200,
            90,
            logs / "gunicorn.log",
        )
        yield Stack(base=base, env=env, dbname=name, logs=logs, incident_pk=incident_pk)
