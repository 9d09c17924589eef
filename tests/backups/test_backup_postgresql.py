"""Backups of a real PostgreSQL database, recovered by hand with age, zstd and pg_restore."""

from __future__ import annotations

import hashlib
import json
import uuid
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connections

from nzila_ops.backups.service import run_backup
from nzila_ops.models import BackupRecord
from tests.backups.helpers import only_manifest, recover_by_hand, table_counts
from tests.support import pg
from tests.support.parked import ParkedBackup
from tests.support.procs import children
from tests.support.tools import pg_restore_list

pytestmark = pytest.mark.postgres


def test_backup_is_recoverable_with_age_zstd_and_pg_restore(
    ops_settings: Any, seeded_postgres: dict[str, int], backup_dir: Path, age_key: tuple[Path, str]
) -> None:
    record = run_backup("default", "hourly")

    manifest = only_manifest(backup_dir)
    stored = backup_dir / manifest["object"]["key"]
    assert stored.name.endswith(".pgdump.zst.age")
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == record.sha256
    assert stored.stat().st_size == record.stored_size == manifest["object"]["stored_size"]
    assert stored.read_bytes().startswith(b"age-encryption.org/v1\n")

    dump = recover_by_hand(backup_dir, manifest, age_key[0])
    assert dump.stat().st_size == record.raw_size
    listing = pg_restore_list(dump)
    assert "TABLE DATA public vehicles_vehicle" in listing
    assert "Format: CUSTOM" in listing

    restored = pg.restore_by_hand(dump)
    try:
        for table in ("vehicles_vehicle", "deals_deal", "payments_payment"):
            live = connections["default"].settings_dict["NAME"]
            assert pg.snapshot(restored, [table]) == pg.snapshot(live, [table])
    finally:
        pg.drop_database(restored)


def test_manifest_lists_every_table_with_exact_counts_and_versions(
    ops_settings: Any, seeded_postgres: dict[str, int], backup_dir: Path
) -> None:
    record = run_backup("default")
    manifest = only_manifest(backup_dir)
    counts = {t["name"]: t["rows"] for t in manifest["tables"] if t["schema"] == "public"}
    for table, rows in seeded_postgres.items():
        assert counts[table] == rows
    assert "nzila_ops_backuprecord" in counts and "django_migrations" in counts
    assert manifest["dump"]["format"] == "pg_dump-custom"
    assert manifest["dump"]["server_version"].split(".")[0] == "15"
    assert manifest["compression"] == {"algorithm": "zstd", "level": 3}
    assert manifest["encryption"]["format"] == "age-v1"
    assert len(manifest["encryption"]["recipients"]) == 1
    sequences = {s["name"]: s["last_value"] for s in manifest["sequences"]}
    assert sequences["vehicles_vehicle_id_seq"] >= seeded_postgres["vehicles_vehicle"]
    # The catalog row mirrors the manifest.
    saved = BackupRecord.objects.get(name=record.name)
    assert saved.status == "succeeded" and saved.manifest == manifest
    assert saved.server_version and saved.tool_version and saved.host


def test_counts_come_from_the_dump_snapshot_while_rows_are_inserted(
    ops_settings: Any, seeded_postgres: dict[str, int], backup_dir: Path, age_key: tuple[Path, str]
) -> None:
    """Another connection inserts rows while the backup runs: neither the dump nor the manifest
    counts include them, and the two agree exactly."""
    before = seeded_postgres["vehicles_vehicle"]
    with ParkedBackup() as blocker:
        # Committed when the block ends, while pg_dump and the row counter wait on the lock.
        blocker.execute(
            "INSERT INTO vehicles_vehicle (vin, make, model, year, mileage_km, price, "
            "description, listed_at) SELECT 'NEW' || g, 'Isuzu', 'D-Max', 2024, 10, 1000, '', "
            "now() FROM generate_series(1, 25) g"
        )

    assert table_counts("default")["vehicles_vehicle"] == before + 25
    manifest = only_manifest(backup_dir)
    counted = {t["name"]: t["rows"] for t in manifest["tables"]}
    assert counted["vehicles_vehicle"] == before
    restored = pg.restore_by_hand(recover_by_hand(backup_dir, manifest, age_key[0]))
    try:
        assert len(pg.snapshot(restored, ["vehicles_vehicle"])["vehicles_vehicle"]) == before
    finally:
        pg.drop_database(restored)


def test_gzip_backups_open_with_gzip_for_the_original_plans_scripts(
    ops_settings: Any, seeded_postgres: dict[str, int], backup_dir: Path, age_key: tuple[Path, str]
) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "COMPRESSION": "gzip"}
    run_backup("default", "daily")
    manifest = only_manifest(backup_dir)
    assert manifest["object"]["key"].endswith(".pgdump.gz.age")
    assert manifest["compression"] == {"algorithm": "gzip", "level": 9}
    dump = recover_by_hand(backup_dir, manifest, age_key[0])
    assert "TABLE DATA public deals_deal" in pg_restore_list(dump)


def test_without_recipients_the_backup_is_plain_zstd(
    ops_settings: Any, seeded_postgres: dict[str, int], backup_dir: Path
) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "AGE_RECIPIENTS": []}
    record = run_backup("default")
    manifest = only_manifest(backup_dir)
    assert manifest["encryption"] is None and not record.encrypted
    assert manifest["object"]["key"].endswith(".pgdump.zst")
    dump = recover_by_hand(backup_dir, manifest, None)
    assert "TABLE DATA public payments_payment" in pg_restore_list(dump)


def our_running_pg_dumps() -> list[tuple[bytes, bytes]]:
    """(argv, environment) of the pg_dump this process started, as any user could see them."""
    return [(c.cmdline, c.environ) for c in children() if c.comm == "pg_dump"]


def test_password_reaches_pg_dump_through_a_private_file_not_argv(
    ops_settings: Any, seeded_postgres: dict[str, int], backup_dir: Path, settings: Any
) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    role = f"nzila_backup_{uuid.uuid4().hex[:6]}"
    dbname = connections["default"].settings_dict["NAME"]
    with psycopg.connect(pg.conninfo(dbname), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{secret}'")
    settings.DATABASES["pgrole"] = {
        **connections["default"].settings_dict,
        "USER": role,
        "PASSWORD": secret,
    }
    try:
        with ParkedBackup("pgrole"):
            seen = our_running_pg_dumps()
    finally:
        del settings.DATABASES["pgrole"]
        del connections["pgrole"]
        with psycopg.connect(pg.conninfo(dbname), autocommit=True) as admin:
            admin.execute(f"DROP ROLE {role}")
    assert len(seen) == 1
    cmdline, environ = seen[0]
    assert secret.encode() not in cmdline and secret.encode() not in environ
    assert b"PGPASSFILE=" in environ and b"--snapshot=" in cmdline


def test_backup_database_command_prints_one_summary_line_and_json(
    ops_settings: Any, seeded_postgres: dict[str, int], backup_dir: Path
) -> None:
    out = StringIO()
    call_command("backup_database", "--type", "weekly", stdout=out)
    line = out.getvalue().strip()
    assert "\n" not in line
    record = BackupRecord.objects.get()
    assert line.startswith(f"{record.name}: ") and record.sha256 in line and "ratio" in line

    out = StringIO()
    call_command("backup_database", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["type"] == "manual" and summary["encrypted"] is True
    assert summary["stored_size"] < summary["raw_size"]
    assert set(summary) >= {"name", "stored_size", "raw_size", "duration_seconds", "sha256"}

    out = StringIO()
    call_command("list_backups", "--json", stdout=out)
    listed = json.loads(out.getvalue())
    assert [b["name"] for b in listed] == [summary["name"], record.name]
    assert listed[0]["type"] == "manual" and listed[1]["type"] == "weekly"
