"""SQLite restores: a verified file renamed over the live one, the previous file kept."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from nzila_ops.backups.restore import restore_database
from tests.backups.helpers import APP_TABLES, flip_byte, only_manifest

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "sqlite"])


def contents(path: str | Path) -> dict[str, list[tuple]]:
    with closing(sqlite3.connect(path)) as db:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in APP_TABLES}


def live_path() -> Path:
    return Path(connections["sqlite"].settings_dict["NAME"])


def test_deleted_sqlite_database_comes_back_whole(
    ops_settings: Any, seeded_sqlite: dict, backup_dir: Path
) -> None:
    call_command("backup_database", "--database", "sqlite", stdout=StringIO())
    before = contents(live_path())
    connections["sqlite"].close()
    live_path().unlink()

    outcome = restore_database("sqlite", latest=True)

    assert contents(live_path()) == before
    assert outcome.previous_database is None and outcome.verification["matches_manifest"]


def test_sqlite_restore_keeps_the_previous_file(
    ops_settings: Any, seeded_sqlite: dict, backup_dir: Path
) -> None:
    call_command("backup_database", "--database", "sqlite", stdout=StringIO())
    before = contents(live_path())
    call_command("seed_demo", vehicles=300, database="sqlite", stdout=StringIO())
    changed = contents(live_path())

    outcome = restore_database("sqlite", latest=True)

    assert contents(live_path()) == before
    assert outcome.previous_database
    assert contents(outcome.previous_database) == changed
    Path(outcome.previous_database).unlink()
    assert not list(live_path().parent.glob("*_nzila_scratch_*"))


def test_corrupt_sqlite_backup_leaves_the_live_file_alone(
    ops_settings: Any, seeded_sqlite: dict, backup_dir: Path
) -> None:
    call_command("backup_database", "--database", "sqlite", stdout=StringIO())
    manifest = only_manifest(backup_dir, "sqlite")
    stored = backup_dir / manifest["object"]["key"]
    flip_byte(stored, stored.stat().st_size // 3)
    before = contents(live_path())
    with pytest.raises(CommandError, match=r"corrupt|checksum"):
        call_command("restore_database", "--latest", "--database", "sqlite", "--no-input")
    assert contents(live_path()) == before
    assert not list(live_path().parent.glob("*_nzila_scratch_*"))
    assert not list(live_path().parent.glob("*_pre_restore_*"))


def test_two_sqlite_restores_in_the_same_second_keep_both_previous_files(
    ops_settings: Any, seeded_sqlite: dict, backup_dir: Path
) -> None:
    import time_machine
    from django.utils import timezone

    call_command("backup_database", "--database", "sqlite", stdout=StringIO())
    with time_machine.travel(timezone.now(), tick=False):  # the clock stands still
        first = restore_database("sqlite", latest=True).previous_database
        second = restore_database("sqlite", latest=True).previous_database
    assert first and second and first != second
    assert Path(first).exists() and Path(second).exists()
    Path(first).unlink()
    Path(second).unlink()
