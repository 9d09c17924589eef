"""Overlapping runs are harmless; a dead run's claim does not block the next backup.

The claim follows the liveness of the run that holds it: on a PostgreSQL catalog an advisory lock
on the run's own connection (gone the moment its process dies), everywhere a heartbeat."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from nzila_ops.backups.claim import LOCK_CLASS, lock_key
from nzila_ops.backups.service import run_backup
from nzila_ops.models import BackupRecord
from tests.backups.helpers import stored_files
from tests.support import pg
from tests.support.host import MANAGE_PY, example_env, manage
from tests.support.parked import ParkedBackup

pytestmark = pytest.mark.postgres


def test_two_backups_at_once_one_runs_the_other_is_skipped(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    # The first backup is inside pg_dump, holding the claim.
    with ParkedBackup(), pytest.raises(CommandError) as caught:
        call_command("backup_database", stdout=StringIO())
    assert caught.value.returncode == 3
    assert "skipped: another backup of 'default' is running" in str(caught.value)
    statuses = sorted(BackupRecord.objects.values_list("status", flat=True))
    assert statuses == ["skipped", "succeeded"]
    skipped = BackupRecord.objects.get(status="skipped")
    running_name = BackupRecord.objects.get(status="succeeded").name
    assert running_name in skipped.error


def test_the_celery_task_reports_skipped_instead_of_failing(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    from nzila_ops.tasks import backup_database_task

    with ParkedBackup():
        result = backup_database_task.apply(args=["default", "hourly"]).get()
    assert result["status"] == "skipped"


def test_a_running_backup_keeps_its_heartbeat_fresh(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "BACKUP_HEARTBEAT_SECONDS": 0.2,
        "BACKUP_HEARTBEAT_TIMEOUT_SECONDS": 5,
    }
    with ParkedBackup():
        first = BackupRecord.objects.get(status="running").heartbeat_at
        deadline = time.monotonic() + 30
        while BackupRecord.objects.get(status="running").heartbeat_at == first:
            assert time.monotonic() < deadline, "the heartbeat never moved"
            time.sleep(0.1)


def test_a_running_record_whose_run_is_gone_is_taken_over_at_once(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    # A record left 'running' seconds ago by a process that no longer holds the lock.
    dead = BackupRecord.objects.create(
        name="default-dead-worker",
        database_alias="default",
        engine="postgresql",
        status="running",
        started_at=timezone.now() - timedelta(seconds=5),
        heartbeat_at=timezone.now(),
    )
    record = run_backup("default")
    assert record.status == "succeeded"
    dead.refresh_from_db()
    assert dead.status == "failed"
    assert dead.error == (
        f"its run died (the process or its connection is gone); the claim was taken over by "
        f"{record.name}"
    )


def _hold_claim_lock(dbname: str, alias: str = "default") -> psycopg.Connection:
    """A session holding the claim's lock, as one whose host vanished without a word would."""
    ghost = psycopg.connect(pg.conninfo(dbname), autocommit=True)
    ghost.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, lock_key(alias)])
    return ghost


def test_a_silent_holder_of_the_lock_is_ended_and_taken_over(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    from django.db import connections

    ghost = _hold_claim_lock(connections["default"].settings_dict["NAME"])
    dead = BackupRecord.objects.create(
        name="default-vanished-host",
        database_alias="default",
        engine="postgresql",
        status="running",
        started_at=timezone.now() - timedelta(minutes=3),
        heartbeat_at=timezone.now() - timedelta(minutes=2),
    )
    try:
        assert run_backup("default").status == "succeeded"
        dead.refresh_from_db()
        assert dead.status == "failed"
        with pytest.raises(psycopg.OperationalError):
            ghost.execute("SELECT 1")  # its session was terminated
    finally:
        ghost.close()


def test_a_live_holder_with_a_fresh_heartbeat_keeps_the_claim(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    from django.db import connections

    holder = _hold_claim_lock(connections["default"].settings_dict["NAME"])
    try:
        BackupRecord.objects.create(
            name="default-busy",
            database_alias="default",
            engine="postgresql",
            status="running",
            started_at=timezone.now() - timedelta(hours=5),  # long, but alive
            heartbeat_at=timezone.now() - timedelta(seconds=5),
        )
        with pytest.raises(CommandError, match="default-busy"):
            call_command("backup_database", stdout=StringIO())
        holder.execute("SELECT 1")  # untouched
    finally:
        holder.close()
    assert BackupRecord.objects.get(name="default-busy").status == "running"


def _wait_for_pg_dump_parked(dbname: str, process: subprocess.Popen) -> None:
    with psycopg.connect(pg.conninfo(dbname), autocommit=True) as observer:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if observer.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND application_name = 'pg_dump' AND wait_event_type = 'Lock'",
                [dbname],
            ).fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError(f"pg_dump never parked: {process.communicate()}")


@pytest.mark.slow
def test_a_backup_killed_mid_stream_blocks_nothing_and_leaves_nothing(
    host_project: dict[str, str], tmp_path: Path
) -> None:
    dbname = host_project["DBNAME"]
    scratch = tmp_path / "scratch"
    env = {**host_project, "NZILA_OPS_SCRATCH_DIR": str(scratch)}
    backups = Path(env["NZILA_OPS_BACKUP_STORAGE"].removeprefix("file://"))
    blocker = psycopg.connect(pg.conninfo(dbname))
    blocker.execute("LOCK TABLE vehicles_vehicle IN ACCESS EXCLUSIVE MODE")
    victim = subprocess.Popen(
        [sys.executable, str(MANAGE_PY), "backup_database"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_for_pg_dump_parked(dbname, victim)
        assert any(name.endswith(".partial") for name in stored_files(backups))
        victim.kill()  # SIGKILL: no finally, no handler runs
        victim.wait()
    finally:
        blocker.rollback()
        blocker.close()

    nxt = manage(env, "backup_database")  # at once, not hours later
    assert nxt.returncode == 0, nxt.stderr

    with psycopg.connect(pg.conninfo(dbname)) as conn:
        rows = conn.execute(
            "SELECT status, error FROM nzila_ops_backuprecord ORDER BY started_at"
        ).fetchall()
    assert [status for status, _ in rows] == ["succeeded", "failed", "succeeded"]
    assert rows[1][1].startswith("its run died (the process or its connection is gone)")
    # Nothing of the killed run is left: no partial object, no private work directory.
    assert [f for f in stored_files(backups) if f.rsplit("/", 1)[-1].startswith(".")] == []
    assert len([f for f in stored_files(backups) if f.endswith(".manifest.json")]) == 2
    assert [p.name for p in scratch.iterdir()] == []


def _sqlite_host(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "backups").mkdir()
    env = example_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path / 'backups'}",
    )
    assert manage(env, "migrate", "-v0").returncode == 0
    return env


def _insert_running(database: Path, name: str, heartbeat_age: timedelta) -> None:
    # As Django stores a datetime in SQLite: naive UTC, a space between date and time.
    at = (timezone.now() - heartbeat_age).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(database) as conn:
        conn.execute(
            "INSERT INTO nzila_ops_backuprecord (name, database_alias, engine, backup_type, "
            "status, started_at, heartbeat_at, storage_name, storage_key, "
            "encryption_recipients, error, host, sha256, compression, server_version, "
            "tool_version) VALUES (?, 'default', 'sqlite', 'hourly', 'running', ?, ?, "
            "'default', '', '[]', '', 'elsewhere', '', '', '', '')",
            [name, at, at],
        )


def test_on_a_catalog_that_cannot_lock_the_heartbeat_decides(tmp_path: Path) -> None:
    env = _sqlite_host(tmp_path)
    database = tmp_path / "db.sqlite3"
    _insert_running(database, "default-alive", timedelta(seconds=3))
    alive = manage(env, "backup_database")
    assert alive.returncode == 3, alive.stderr
    assert "another backup of 'default' is running (default-alive" in alive.stderr

    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM nzila_ops_backuprecord")
    _insert_running(database, "default-silent", timedelta(minutes=2))
    taken_over = manage(env, "backup_database")
    assert taken_over.returncode == 0, taken_over.stderr
    with sqlite3.connect(database) as conn:
        status, error = conn.execute(
            "SELECT status, error FROM nzila_ops_backuprecord WHERE name = 'default-silent'"
        ).fetchone()
    assert status == "failed"
    assert error.startswith("its run stopped sending heartbeats")


def test_transient_storage_errors_are_retried_permanent_ones_are_not(
    ops_settings: Any, seeded_postgres: dict, aws_env: str
) -> None:
    from nzila_ops.exceptions import StorageError
    from nzila_ops.tasks import backup_database_task
    from tests.support.s3 import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "BACKUP_TASK_RETRIES": 2,
        "STORAGES": {"default": f"s3://b/x?endpoint_url={dead}&max_attempts=1"},
    }
    # Eagerly applied, a retry runs again at once (the countdown applies on a real worker).
    result = backup_database_task.apply(args=["default", "hourly"])
    with pytest.raises(StorageError, match="cannot reach S3"):
        result.get()
    assert BackupRecord.objects.filter(status="failed").count() == 3  # first try + 2 retries

    BackupRecord.objects.all().delete()
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {"default": "s3://no-such-bucket/x"},
    }
    with pytest.raises(StorageError, match="does not exist"):
        backup_database_task.apply(args=["default", "hourly"]).get()
    assert BackupRecord.objects.filter(status="failed").count() == 1
