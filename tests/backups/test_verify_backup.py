"""verify_backup: the whole object checked and the dump's contents read, nothing restored."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.backups.helpers import flip_byte, only_manifest, table_counts

pytestmark = pytest.mark.postgres


def backup(*args: str) -> dict:
    out = StringIO()
    call_command("backup_database", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_a_good_backup_verifies_by_name_and_latest(
    ops_settings: Any, seeded_postgres: dict, backup_dir: Path
) -> None:
    summary = backup()
    out = StringIO()
    call_command("verify_backup", summary["name"], stdout=out)
    assert out.getvalue().startswith(f"OK {summary['name']}: ")

    out = StringIO()
    call_command("verify_backup", "--latest", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["sha256"] == summary["sha256"] and report["raw_size"] == summary["raw_size"]
    assert report["toc_table_data_entries"] >= report["tables"] == summary["tables"]
    assert table_counts("default") == seeded_postgres  # nothing was restored over it


@pytest.mark.parametrize("fault", ["flip", "truncate", "append"])
def test_a_damaged_backup_fails_verification(
    ops_settings: Any, seeded_postgres: dict, backup_dir: Path, fault: str
) -> None:
    summary = backup()
    stored = backup_dir / only_manifest(backup_dir)["object"]["key"]
    size = stored.stat().st_size
    if fault == "flip":
        flip_byte(stored, size * 2 // 3)
        expected = f"backup {summary['name']} failed its checksum"
    elif fault == "truncate":
        stored.write_bytes(stored.read_bytes()[:-1000])
        expected = f"backup {summary['name']} is {size - 1000} bytes in storage"
    else:
        stored.write_bytes(stored.read_bytes() + b"junk")
        expected = f"backup {summary['name']} is {size + 4} bytes in storage"
    with pytest.raises(CommandError) as caught:
        call_command("verify_backup", summary["name"])
    assert caught.value.returncode == 1 and expected in str(caught.value)


def test_an_unencrypted_gzip_backup_verifies(
    ops_settings: Any, seeded_postgres: dict, backup_dir: Path
) -> None:
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "AGE_RECIPIENTS": [],
        "COMPRESSION": "gzip",
    }
    summary = backup()
    out = StringIO()
    call_command("verify_backup", summary["name"], stdout=out)
    assert "OK" in out.getvalue() and "age authenticated" not in out.getvalue()


@pytest.mark.django_db(transaction=True, databases=["default", "sqlite"])
def test_a_sqlite_backup_verifies(ops_settings: Any, seeded_sqlite: dict) -> None:
    summary = backup("--database", "sqlite")
    out = StringIO()
    call_command("verify_backup", "--latest", "--database", "sqlite", stdout=out)
    assert out.getvalue().startswith(f"OK {summary['name']}")


def test_name_or_latest_is_required(ops_settings: Any, db: Any) -> None:
    with pytest.raises(CommandError, match="either a backup NAME or --latest"):
        call_command("verify_backup")
    with pytest.raises(CommandError, match="invalid backup name"):
        call_command("verify_backup", "../x")
