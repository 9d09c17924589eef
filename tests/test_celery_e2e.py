"""End to end: a real Celery worker process, Redis as broker and result backend, the backup
and retention tasks and a DR drill against real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from tests.support.host import REPO

pytestmark = pytest.mark.postgres
REDIS_DB = 15  # keep the test's queues apart from anything else on the local Redis


@pytest.fixture
def worker(host_project: dict[str, str]) -> Iterator[tuple[Celery, dict[str, str]]]:
    broker = f"redis://127.0.0.1:6379/{REDIS_DB}"
    redis.Redis.from_url(broker).flushdb()
    queue = f"nzila-e2e-{uuid.uuid4().hex[:6]}"
    env = {
        **host_project,
        "CELERY_BROKER_URL": broker,
        "NZILA_OPS_RETENTION": '{"HOURLY": 1, "DAILY": 0, "WEEKLY": 0, "MONTHLY": 0, '
        '"MIN_AGE_MINUTES": 0}',
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "nzila_export_hub", "worker", "-P", "solo",
         "-Q", queue, "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
        cwd=REPO / "example_project", env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # Not the current app: tasks the rest of the suite sends (eagerly, through the host's app)
    # must not go to this client's broker, where no worker takes them.
    client = Celery(broker=broker, backend=broker, set_as_current=False)
    client.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        while not client.control.ping(timeout=0.5, destination=None):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the worker never answered a ping"
        yield client, env
    finally:
        process.terminate()
        process.wait(timeout=30)
        redis.Redis.from_url(broker).flushdb()


def backups_in(env: dict[str, str]) -> list[str]:
    root = Path(env["NZILA_OPS_BACKUP_STORAGE"].removeprefix("file://"))
    return sorted(p.name.removesuffix(".manifest.json") for p in root.rglob("*.manifest.json"))


def test_worker_runs_backups_and_retention(worker: tuple[Celery, dict[str, str]]) -> None:
    client, env = worker
    first_listing = backups_in(env)  # the host fixture took one backup already
    assert len(first_listing) == 1

    result = client.send_task("nzila_ops.backup_database", args=["default", "hourly"])
    outcome = result.get(timeout=120)
    assert outcome["status"] == "succeeded" and outcome["sha256"]
    assert outcome["name"] in backups_in(env) and len(backups_in(env)) == 2

    retention = client.send_task("nzila_ops.enforce_retention").get(timeout=120)
    # Both backups are in this hour: the newest is kept, the older one goes.
    assert retention == {
        "default": {
            "deleted": first_listing,
            "failed": {},
            "locked": {},
            "lock_failed": {},
            "error": "",  # the storage's run as a whole did not fail
        }
    }
    assert backups_in(env) == [outcome["name"]]


def test_worker_runs_a_drill_that_restores_and_verifies_the_latest_backup(
    worker: tuple[Celery, dict[str, str]],
) -> None:
    client, _env = worker
    # The worker decrypts in a child process of its own, as restore_database does.
    drill = client.send_task("nzila_ops.run_dr_drill").get(timeout=180)
    assert drill["result"] == "passed", drill["error"]
    assert 0 < drill["rto_seconds"] < 180
