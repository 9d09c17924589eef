"""Backups of a live SQLite database through the online-backup API."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from nzila_ops.backups.service import run_backup
from tests.backups.helpers import only_manifest, recover_by_hand

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "sqlite"])


def test_sqlite_backup_is_a_database_file_after_age_and_zstd(
    ops_settings: Any, seeded_sqlite: dict[str, int], backup_dir: Path, age_key: tuple[Path, str]
) -> None:
    record = run_backup("sqlite", "daily")
    manifest = only_manifest(backup_dir, "sqlite")
    assert record.engine == "sqlite" and manifest["dump"]["format"] == "sqlite3-database"
    assert manifest["object"]["key"].endswith(".sqlite3.zst.age")

    copy = recover_by_hand(backup_dir, manifest, age_key[0])
    assert copy.read_bytes()[:16] == b"SQLite format 3\x00"
    with closing(sqlite3.connect(copy)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for table, rows in seeded_sqlite.items():
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == rows
    counts = {t["name"]: t["rows"] for t in manifest["tables"]}
    assert {k: counts[k] for k in seeded_sqlite} == seeded_sqlite
    sequences = {s["name"]: s["last_value"] for s in manifest["sequences"]}
    assert sequences.get("vehicles_vehicle", 0) >= seeded_sqlite["vehicles_vehicle"]


def test_sqlite_backup_is_consistent_while_another_connection_writes(
    ops_settings: Any,
    seeded_sqlite: dict[str, int],
    backup_dir: Path,
    age_key: tuple[Path, str],
    settings: Any,
) -> None:
    """A writer keeps inserting during the backup; the copy is one consistent state whose
    counts match the manifest exactly."""
    import threading

    path = settings.DATABASES["sqlite"]["TEST"]["NAME"]
    stop = threading.Event()

    def writer() -> None:
        with closing(sqlite3.connect(path, timeout=30)) as db:
            n = 0
            while not stop.is_set():
                db.execute(
                    "INSERT INTO vehicles_vehicle (vin, make, model, year, mileage_km, price, "
                    "description, listed_at) VALUES (?, 'Isuzu', 'D-Max', 2024, 1, 1, '', "
                    "'2026-01-01')",
                    (f"W{n:016d}",),
                )
                db.commit()
                n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        run_backup("sqlite")
    finally:
        stop.set()
        thread.join()
    manifest = only_manifest(backup_dir, "sqlite")
    copy = recover_by_hand(backup_dir, manifest, age_key[0])
    with closing(sqlite3.connect(copy)) as db:
        for table in manifest["tables"]:
            assert (
                db.execute(f'SELECT count(*) FROM "{table["name"]}"').fetchone()[0] == table["rows"]
            )
