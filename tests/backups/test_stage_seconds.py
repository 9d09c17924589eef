"""Where the time goes: a backup and a restore report each stage's busy seconds, and the
figures fit inside the wall time the operation took."""

from __future__ import annotations

import json
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from nzila_ops.backups.fetch_children import zstd_cli
from nzila_ops.backups.restore import restore_database
from nzila_ops.backups.service import run_backup

BACKUP_STAGES = {"dump", "dump_wait", "compress", "encrypt", "hash", "upload"}
#: What the thread that runs the backup does one after the other: zstd and age are child
#: processes beside it (tool_chain.py), and the dump is fed to them from another thread.
SERIAL_BACKUP_STAGES = {"dump_wait", "hash", "upload"}
#: With the zstd CLI, a zstd -d child writes the dump file itself (fetch_children.py): its
#: CPU is "decompress", and there is no "write" of this process's own.
RESTORE_STAGES = {"download", "hash", "decrypt", "decompress", "restore", "verify"}
if zstd_cli() is None:
    RESTORE_STAGES.add("write")
#: PostgreSQL loads the schema (pg_restore --section=pre-data) while the backup still arrives.
PG_RESTORE_STAGES = RESTORE_STAGES | {"pre_data"}


def assert_fits(stages: dict[str, float], wall: float, serial: set[str]) -> None:
    for name, seconds in stages.items():
        assert 0 <= seconds <= wall, f"{name}: {seconds} s of a {wall:.3f} s run"
    assert sum(stages[name] for name in serial) <= wall


def timed_backup(database: str) -> tuple[dict[str, Any], float]:
    out = StringIO()
    started = time.perf_counter()
    call_command("backup_database", "--database", database, "--json", stdout=out)
    return json.loads(out.getvalue()), time.perf_counter() - started


@pytest.mark.django_db(transaction=True, databases=["default", "sqlite"])
def test_sqlite_backup_and_restore_report_their_stages(
    ops_settings: Any, seeded_sqlite: dict[str, int]
) -> None:
    summary, wall = timed_backup("sqlite")
    assert set(summary["stage_seconds"]) == BACKUP_STAGES
    assert_fits(summary["stage_seconds"], wall, SERIAL_BACKUP_STAGES)
    assert run_backup("sqlite").manifest["stage_seconds"].keys() == BACKUP_STAGES

    started = time.perf_counter()
    outcome = restore_database("sqlite", latest=True)
    wall = time.perf_counter() - started

    assert set(outcome.stage_seconds) == RESTORE_STAGES | {"swap"}
    assert_fits(outcome.stage_seconds, wall, {"restore", "verify", "swap"})
    assert outcome.as_dict()["stage_seconds"] == outcome.stage_seconds
    assert outcome.previous_database is not None
    Path(outcome.previous_database).unlink()  # the kept file: other tests look for none


@pytest.mark.postgres
def test_postgresql_backup_and_restore_report_their_stages(
    ops_settings: Any, seeded_postgres: dict, live_db: str
) -> None:
    summary, wall = timed_backup("default")
    assert set(summary["stage_seconds"]) == BACKUP_STAGES
    assert_fits(summary["stage_seconds"], wall, SERIAL_BACKUP_STAGES)

    out = StringIO()
    started = time.perf_counter()
    call_command("restore_database", "--latest", "--no-input", "--json", stdout=out)
    wall = time.perf_counter() - started
    stages = json.loads(out.getvalue())["stage_seconds"]

    assert set(stages) == PG_RESTORE_STAGES | {"swap"}
    assert_fits(stages, wall, {"restore", "verify", "swap"})


@pytest.mark.postgres
def test_unencrypted_backup_has_no_encrypt_stage(
    ops_settings: Any, seeded_postgres: dict, live_db: str
) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "AGE_RECIPIENTS": []}
    summary, wall = timed_backup("default")
    assert set(summary["stage_seconds"]) == BACKUP_STAGES - {"encrypt"}
    assert_fits(summary["stage_seconds"], wall, SERIAL_BACKUP_STAGES)

    outcome = restore_database(latest=True, target=f"{live_db}_copy")
    assert set(outcome.stage_seconds) == PG_RESTORE_STAGES - {"decrypt"}
