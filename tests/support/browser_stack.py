"""The example project as a deployment runs it, for the browser tests: gunicorn (one worker,
four threads) on a PostgreSQL database of its own, Redis as Celery broker and Django cache on a
database number of its own, a real Celery worker (solo pool), static files collected and served
by the project itself, a backup to restore, a superuser and a staff user who may look at
backups but not restore them, an open incident and health samples."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis
from celery import Celery

from tests.observability.prometheus_proof_support import (
    start,
    stop,
    tail,
    wait_served,
    wait_until,
)
from tests.support import pg
from tests.support.host import MANAGE_PY, REPO, example_env
from tests.support.listener import bound_listener, gunicorn_bind

# The browser tests' own Redis database (broker and cache), flushed before and after. Two runs
# at once (two checkouts on one machine) each need their own: NZILA_BROWSER_REDIS_DB, else they
# flush each other's queues and one's worker takes the other's restore.
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('NZILA_BROWSER_REDIS_DB', '6')}"
PASSWORD = "browser-test-password"
SUPERUSER = "ops-admin"
STAFF = "ops-viewer"  # staff, may view backups, does not hold nzila_ops.restore_backup

# The database's whole preparation in one `manage.py shell` (each manage.py costs a Django
# start-up): the schema, demo rows, the users, the superuser's session, an open incident, then
# the backup, last so that restoring it brings all of them back (the session too: the page
# that follows a restore is still the operator's after the swap).
BALLAST_ROWS = 400_000
PREPARE = f"""
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Permission, User
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from nzila_ops.incidents import service

call_command("migrate", verbosity=0)
call_command("seed_demo", vehicles=200, verbosity=0)
admin = User.objects.create_superuser({SUPERUSER!r}, "ops@example.com", {PASSWORD!r})
session = SessionStore()  # the superuser logged in, as Django's test client force_login does
session[SESSION_KEY] = str(admin.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = admin.get_session_auth_hash()
session.create()
viewer = User.objects.create_user({STAFF!r}, "viewer@example.com", {PASSWORD!r}, is_staff=True)
viewer.user_permissions.add(*Permission.objects.filter(
    content_type__app_label="nzila_ops", codename__in=["view_backuprecord", "view_incident"]))
# Opened by hand under a key of its own: the health checks' recoveries resolve only theirs.
incident, _ = service.open_incident(
    key="payments_api#card-declines", component="payments_api", severity="P1",
    source="manual", title="Card payments declined for some buyers",
    detail="Support: three buyers in Lagos saw their card refused at checkout")
# Ballast, made by the server itself (cheap): without it the whole restore took 0.8 s and its
# page could only ever show every phase done. Its indexes are rebuilt by pg_restore (the restore
# phase: seconds, seen running by the page's one-second polls) and not dumped, so the backup and
# its fetch grow little.
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE browser_ballast AS SELECT g AS id, md5(g::text) AS digest"
                   " FROM generate_series(1, {BALLAST_ROWS}) g")
    for n, key in enumerate(["digest", "digest, id", "(md5(digest))", "(reverse(digest))"]):
        cursor.execute(f"CREATE INDEX browser_ballast_{{n}} ON browser_ballast ({{key}})")
call_command("backup_database", verbosity=0)
print("incident", incident.pk)
print("session", session.session_key)
"""
# Two samples (a component is down only after consecutive failures), taken beside the worker,
# whose celery_workers check pings it: a solo worker running the sampler itself could not
# answer its own ping while the task runs, and would be found down.
SAMPLE = "from nzila_ops.health.uptime import sample_health; sample_health(); sample_health()"


@dataclass
class Stack:
    base: str
    env: dict[str, str]
    dbname: str
    logs: Path
    incident_pk: int
    #: The superuser's session key (the ``sessionid`` cookie), made with the database.
    admin_session: str

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of the served database, read as an operator's psql would."""
        with psycopg.connect(pg.conninfo(self.dbname)) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def newest_backup(self) -> tuple[int, str]:
        """(pk, name) of the newest succeeded backup in the catalog."""
        [(pk, name)] = self.query(
            "SELECT id, name FROM nzila_ops_backuprecord WHERE status = 'succeeded'"
            " ORDER BY finished_at DESC LIMIT 1"
        )
        return pk, name

    def databases(self) -> list[str]:
        """The served database and any other whose name starts with it (a kept copy)."""
        return pg.databases_like(self.dbname)

    def log_tail(self) -> str:
        return "\n".join(f"== {log.name}\n{tail(log)}" for log in sorted(self.logs.glob("*.log")))


def manage_in_background(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    return start([sys.executable, str(MANAGE_PY), *args], log, env=env)


def finished(process: subprocess.Popen[bytes], log: Path) -> str:
    """Wait for a manage.py started in the background; its output, or fail with it."""
    process.wait(timeout=300)
    output = log.read_text(errors="replace")
    assert process.returncode == 0, f"{' '.join(map(str, process.args))}:\n{output}"  # type: ignore[arg-type]
    return output


def stop_servers(gunicorn: subprocess.Popen[bytes], worker: subprocess.Popen[bytes]) -> None:
    """Both told at once, then waited for (each stop waits up to 20 s): the worker's is a cold
    shutdown (SIGQUIT), the tests being over, so it does not first finish what it holds."""
    for process, how in ((gunicorn, signal.SIGTERM), (worker, signal.SIGQUIT)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, how)
    stop(gunicorn)
    stop(worker)


@contextmanager
def browser_stack(root: Path, age_key: tuple[Path, str]) -> Iterator[Stack]:
    """Everything up, then stopped, dropped and flushed after, whatever failed. What does not
    depend on the other steps runs beside them: the machine has two cores and many tests."""
    name = f"test_browser_{os.getpid()}"
    logs, backups, static = root / "logs", root / "backups", root / "static"
    for directory in (logs, backups):
        directory.mkdir()
    listener = bound_listener()  # handed to gunicorn (tests/support/listener.py)
    port = listener.getsockname()[1]
    env = example_env(
        DATABASE_URL=pg.url(name),
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
        cleanup.callback(listener.close)
        for leftover in pg.databases_like(name):  # a run killed before its clean-up
            pg.drop_database(leftover)
        redis.Redis.from_url(REDIS_URL).flushdb()
        pg.create_database(name)
        cleanup.callback(redis.Redis.from_url(REDIS_URL).flushdb)
        cleanup.callback(lambda: [pg.drop_database(db) for db in pg.databases_like(name)])

        prepare = manage_in_background(env, logs / "prepare.log", "shell", "-c", PREPARE)
        collect = manage_in_background(
            env, logs / "collectstatic.log", "collectstatic", "--no-input", "-v", "0"
        )
        cleanup.callback(stop, prepare)
        cleanup.callback(stop, collect)
        worker = start(
            [sys.executable, "-m", "celery", "-A", "nzila_export_hub", "worker", "-P", "solo",
             "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
            logs / "celery.log", cwd=REPO / "example_project", env=env,
        )  # fmt: skip
        cleanup.callback(stop, worker)  # if gunicorn never starts; stopping twice is harmless
        client = Celery(broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
        cleanup.callback(client.close)

        # Before gunicorn: WhiteNoise (DEBUG off) serves the files it finds at start-up.
        finished(collect, logs / "collectstatic.log")
        gunicorn = start(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4",
             *gunicorn_bind(listener), "--timeout", "120", "nzila_export_hub.wsgi"],
            logs / "gunicorn.log", cwd=REPO / "example_project", env=env,
            pass_fds=(listener.fileno(),),
        )  # fmt: skip
        cleanup.callback(stop_servers, gunicorn, worker)
        prepared = dict(
            re.findall(r"^(incident|session) (\w+)$", finished(prepare, logs / "prepare.log"), re.M)
        )
        wait_until(
            "the Celery worker answers a ping",
            lambda: worker.poll() is None and client.control.ping(timeout=0.5),
            90,
            logs / "celery.log",
        )
        # The overview's last drill, and the health samples, side by side.
        drill = manage_in_background(env, logs / "drill.log", "run_dr_drill")
        sample = manage_in_background(env, logs / "sample.log", "shell", "-c", SAMPLE)
        cleanup.callback(stop, drill)
        cleanup.callback(stop, sample)
        base = f"http://127.0.0.1:{port}"
        wait_served(gunicorn, base, 90, logs / "gunicorn.log")
        finished(drill, logs / "drill.log")
        finished(sample, logs / "sample.log")
        yield Stack(
            base=base,
            env=env,
            dbname=name,
            logs=logs,
            incident_pk=int(prepared["incident"]),
            admin_session=prepared["session"],
        )
