"""Every restore fault: one clear line, non-zero exit, the live database's contents unchanged,
and no scratch database left behind."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from pyrage import decrypt, encrypt, x25519

from tests.backups.helpers import APP_TABLES, flip_byte, only_manifest
from tests.support import pg
from tests.support.s3 import free_port

pytestmark = pytest.mark.postgres


@pytest.fixture
def backed_up(ops_settings: Any, seeded_postgres: dict, backup_dir: Path) -> Iterator[dict]:
    """A backup in storage, then a changed live database whose contents must survive."""
    call_command("backup_database", stdout=StringIO())
    call_command("seed_demo", vehicles=320, stdout=StringIO())
    live = connections["default"].settings_dict["NAME"]
    manifest = only_manifest(backup_dir)
    state = {
        "live": live,
        "manifest": manifest,
        "object": backup_dir / manifest["object"]["key"],
        "contents": pg.snapshot(live, APP_TABLES),
    }
    yield state
    for leftover in pg.databases_like(f"{live}_"):
        pg.drop_database(leftover)


def restore_fails(*args: str, code: int = 1) -> CommandError:
    """Exit status 1 for a failure, 2 for a wrong setting or argument (exceptions.py)."""
    with pytest.raises(CommandError) as caught:
        call_command("restore_database", "--no-input", *args, stdout=StringIO())
    message = str(caught.value)
    assert message.strip() and "\n" not in message, message
    assert caught.value.returncode == code, message
    return caught.value


def assert_live_untouched(state: dict) -> None:
    assert pg.snapshot(state["live"], APP_TABLES) == state["contents"]
    assert pg.databases_like(f"{state['live']}_") == []


def test_unknown_backup_name(backed_up: dict) -> None:
    error = restore_fails("--backup", "default-20200101T000000Z-manual-0000")
    assert "no backup named 'default-20200101T000000Z-manual-0000'" in str(error)
    assert_live_untouched(backed_up)


@pytest.mark.parametrize("name", ["../etc/passwd", "default/x", "a..b", "/abs"])
def test_names_with_path_separators_or_dotdot_are_refused(backed_up: dict, name: str) -> None:
    error = restore_fails("--backup", name, code=2)
    assert f"invalid backup name {name!r}" in str(error) and error.returncode == 2
    assert_live_untouched(backed_up)


def test_no_backups_at_all(ops_settings: Any, seeded_postgres: dict, tmp_path: Path) -> None:
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {"default": f"file://{tmp_path / 'empty'}"},
    }
    (tmp_path / "empty").mkdir()
    error = restore_fails("--latest")
    assert "no backups of database 'default'" in str(error)


@pytest.mark.parametrize("where", [0, 200, 0.5, -1])
def test_a_flipped_byte_anywhere_is_caught_before_anything_changes(
    backed_up: dict, where: float
) -> None:
    size = backed_up["object"].stat().st_size
    flip_byte(backed_up["object"], int(size * where) if isinstance(where, float) else where)
    error = restore_fails("--latest")
    assert "is corrupt" in str(error) or "failed its checksum" in str(error)
    assert "sha256" in str(error) or "authentication" in str(error)
    assert_live_untouched(backed_up)


def test_zstd_data_the_manifest_vouches_for_but_zstd_refuses_is_corrupt(
    backed_up: dict, backup_dir: Path, age_key: tuple[Path, str]
) -> None:
    # As if the backup had been written wrong: age and the SHA-256 agree, zstd does not.
    key = next(line for line in age_key[0].read_text().splitlines() if line.startswith("AGE-"))
    identity = x25519.Identity.from_str(key)
    compressed = bytearray(decrypt(backed_up["object"].read_bytes(), [identity]))
    compressed[len(compressed) // 2] ^= 0xFF
    stored = encrypt(bytes(compressed), [identity.to_public()])
    backed_up["object"].write_bytes(stored)
    manifest = backed_up["manifest"]
    manifest["object"].update(stored_size=len(stored), sha256=hashlib.sha256(stored).hexdigest())
    (backup_dir / "default" / f"{manifest['name']}.manifest.json").write_text(json.dumps(manifest))
    error = restore_fails("--latest")
    assert f"backup {manifest['name']} is corrupt: zstd data is corrupt" in str(error)
    assert_live_untouched(backed_up)


def test_a_truncated_object_is_caught(backed_up: dict) -> None:
    data = backed_up["object"].read_bytes()
    backed_up["object"].write_bytes(data[: len(data) // 2])
    error = restore_fails("--latest")
    assert (
        f"backup {backed_up['manifest']['name']} is {len(data) // 2} bytes in storage, the "
        f"manifest says {len(data)} (truncated or replaced)"
    ) in str(error)
    assert_live_untouched(backed_up)


def test_a_missing_manifest_means_no_such_backup(backed_up: dict, backup_dir: Path) -> None:
    for manifest in backup_dir.rglob("*.manifest.json"):
        manifest.unlink()
    error = restore_fails("--backup", backed_up["manifest"]["name"])
    assert "no backup named" in str(error)
    error = restore_fails("--latest")
    assert "no backups of database 'default'" in str(error)
    assert_live_untouched(backed_up)


def test_missing_identity_file_setting(backed_up: dict, ops_settings: Any) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "AGE_IDENTITY_FILE": None}
    error = restore_fails("--latest", code=2)
    assert "is encrypted: set NZILA_OPS['AGE_IDENTITY_FILE']" in str(error)
    assert_live_untouched(backed_up)


def test_wrong_identity(backed_up: dict, ops_settings: Any, tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text(f"{x25519.Identity.generate()}\n")
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "AGE_IDENTITY_FILE": str(other)}
    error = restore_fails("--latest", code=2)
    assert f"no identity in {other} can decrypt" in str(error)
    assert "AGE-SECRET-KEY" not in str(error)
    assert_live_untouched(backed_up)


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "holds no identity"), ("{public}\n", "line 1: not an AGE-SECRET-KEY-1 identity")],
    ids=["empty", "a public key"],
)
def test_an_identity_file_without_a_private_key(
    backed_up: dict, ops_settings: Any, tmp_path: Path, content: str, message: str
) -> None:
    public = str(x25519.Identity.generate().to_public())
    wrong = tmp_path / "key.txt"
    wrong.write_text(content.format(public=public))
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "AGE_IDENTITY_FILE": str(wrong)}
    error = restore_fails("--latest", code=2)
    assert f"age identity file {wrong}" in str(error) and message in str(error)
    assert public not in str(error)  # a mangled key line is never echoed
    assert_live_untouched(backed_up)


def test_a_manifest_whose_object_is_gone(backed_up: dict) -> None:
    # What a deletion interrupted between object and manifest would leave (retention deletes
    # the object first, then the manifest).
    backed_up["object"].unlink()
    error = restore_fails("--latest")
    assert backed_up["manifest"]["object"]["key"] in str(error)
    assert_live_untouched(backed_up)


def test_an_unreadable_manifest_is_skipped_for_the_previous_backup(
    backed_up: dict, backup_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = backed_up["manifest"]["name"]
    call_command("backup_database", stdout=StringIO())
    newest = next(
        p for p in (backup_dir / "default").glob("*.manifest.json") if first not in p.name
    )
    newest.write_text("{ not json")
    with caplog.at_level("WARNING", logger="nzila_ops"):
        outcome_out = StringIO()
        call_command("restore_database", "--latest", "--no-input", "--json", stdout=outcome_out)
    assert json.loads(outcome_out.getvalue())["backup_name"] == first
    assert f"skipping unreadable manifest default/{newest.name}" in caplog.text


def test_identity_file_that_does_not_exist(backed_up: dict, ops_settings: Any) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "AGE_IDENTITY_FILE": "/nowhere/key.txt"}
    error = restore_fails("--latest", code=2)
    assert "cannot read age identity file /nowhere/key.txt" in str(error)
    assert_live_untouched(backed_up)


@pytest.mark.django_db(transaction=True, databases=["default", "sqlite"])
def test_a_backup_of_another_engine_is_refused(backed_up: dict, settings: Any) -> None:
    from nzila_ops.backups.service import run_backup

    sqlite_backup = run_backup("sqlite")
    error = restore_fails("--backup", sqlite_backup.name, code=2)
    assert "is a backup of database 'sqlite', not of 'default'" in str(error)
    # Told where it comes from, the restore still refuses another engine's backup.
    error = restore_fails("--backup", sqlite_backup.name, "--from-database", "sqlite")
    assert "is a sqlite backup; database 'default' is postgresql" in str(error)
    assert_live_untouched(backed_up)


def test_a_backup_from_a_newer_postgresql_is_refused(backed_up: dict, backup_dir: Path) -> None:
    manifest_path = next(backup_dir.rglob("*.manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    manifest["dump"]["server_version"] = "17.2"
    manifest_path.write_text(json.dumps(manifest))
    error = restore_fails("--latest")
    assert "is from PostgreSQL 17.2, newer than this server (15." in str(error)
    assert_live_untouched(backed_up)


def test_storage_unreachable(backed_up: dict, ops_settings: Any, aws_env: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {"default": f"s3://backups/x?endpoint_url={dead}&max_attempts=1"},
    }
    error = restore_fails("--latest")
    assert "cannot reach S3" in str(error)
    assert_live_untouched(backed_up)


def test_an_existing_target_is_refused(backed_up: dict) -> None:
    error = restore_fails("--latest", "--target", "postgres", code=2)
    assert "target 'postgres' already exists" in str(error)
    assert_live_untouched(backed_up)


@pytest.mark.parametrize("target", ["", "a/b", "x" * 64])
def test_an_invalid_target_name_is_refused(backed_up: dict, target: str) -> None:
    error = restore_fails("--latest", "--target", target, code=2)
    assert f"invalid target database name {target!r}: 1 to 63 bytes" in str(error)
    assert_live_untouched(backed_up)


def test_a_restored_database_that_does_not_match_its_manifest_is_dropped(
    backed_up: dict, backup_dir: Path
) -> None:
    # A manifest that promises one row more than the dump holds: what verification exists for.
    path = next((backup_dir / "default").glob("*.manifest.json"))
    manifest = json.loads(path.read_text())
    table = next(t for t in manifest["tables"] if t["name"] == "vehicles_vehicle")
    table["rows"] += 1
    path.write_text(json.dumps(manifest))
    error = restore_fails("--latest")
    assert "restored database does not match the manifest: table public.vehicles_vehicle has" in (
        str(error)
    )
    assert_live_untouched(backed_up)


def test_a_second_restore_while_one_runs_is_refused(backed_up: dict) -> None:
    import psycopg

    # What a running restore holds: the advisory lock on the maintenance database.
    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as holder:
        key = f"nzila_ops.restore:{backed_up['live']}"
        holder.execute("SET application_name = 'restore on host-b'")
        holder.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
        pid = holder.info.backend_pid
        error = restore_fails("--latest")
    assert f"another restore or drill of database {backed_up['live']!r} is running" in str(error)
    # Who holds it, so an operator can tell a run in progress from a stuck session.
    assert f"(session {pid} from " in str(error)
    assert "application 'restore on host-b', since " in str(error)
    assert_live_untouched(backed_up)


def test_a_failed_restore_is_recorded_in_the_untouched_database(backed_up: dict) -> None:
    from nzila_ops.models import RestoreRecord

    flip_byte(backed_up["object"], -10)
    restore_fails("--latest")
    record = RestoreRecord.objects.get()
    assert record.result == "failed" and "failed its checksum" in record.error
    assert "fetch" in record.phase_seconds and "swap" not in record.phase_seconds


def test_a_failed_swap_puts_the_names_back(backed_up: dict) -> None:
    import time_machine

    from nzila_ops.backups.restorers.postgresql import KEPT_NAME_TRIES
    from nzila_ops.models import RestoreRecord

    # Databases already holding every name the live one could be kept under (the swap tries
    # the next seconds too) make the rename fail half-way through, after connections were cut.
    frozen = "2026-11-27T10:00:00+00:00"
    blockers = [
        f"{backed_up['live']}_pre_restore_2026112710000{second}"
        for second in range(KEPT_NAME_TRIES)
    ]
    for blocker in blockers:
        pg.create_database(blocker)
    try:
        with time_machine.travel(frozen, tick=False):
            error = restore_fails("--latest")
        assert "swap failed, the live database was put back" in str(error)
        assert pg.snapshot(backed_up["live"], APP_TABLES) == backed_up["contents"]
        assert pg.databases_like(f"{backed_up['live']}_") == blockers
        record = RestoreRecord.objects.get()
        assert record.result == "failed" and "swap" in record.phase_seconds
    finally:
        for blocker in blockers:
            pg.drop_database(blocker)
