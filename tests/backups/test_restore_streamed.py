"""A PostgreSQL restore creates the schema in the scratch database while the backup still
arrives (restorers/pg_stream.py); the rows follow only once the whole object is verified."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connections

from nzila_ops.backups import unpack
from nzila_ops.backups.restorers import get_restorer
from nzila_ops.backups.restorers.pg_stream import StreamedLoading
from nzila_ops.backups.restorers.postgresql import PostgreSQLRestorer
from nzila_ops.exceptions import RestoreError
from tests.backups.helpers import APP_TABLES, flip_byte, only_manifest
from tests.backups.test_restore_faults import assert_live_untouched, restore_fails
from tests.support import pg
from tests.support.procs import children

pytestmark = pytest.mark.postgres

LOGGING_PG_RESTORE = """#!/bin/sh
echo "$*" >> {log}
exec pg_restore "$@"
"""
# Refuses the dump it is given through its stdin (the streamed part) without reading it.
FAILING_STREAMED_PG_RESTORE = """#!/bin/sh
echo "$*" >> {log}
case "$*" in *--version*|*.pgdump) exec pg_restore "$@";; esac
echo "pg_restore: error: could not read input file: refused by the test" >&2
exit 1
"""


@pytest.fixture
def compression() -> str | None:
    """The backup's COMPRESSION; None keeps the default (zstd). A test overrides it with
    ``@pytest.mark.parametrize("compression", [...])``."""
    return None


@pytest.fixture
def big_backup(
    ops_settings: Any, seeded_postgres: dict, backup_dir: Path, compression: str | None
) -> Iterator[dict]:
    """A backup of several age chunks (64 KiB each: the schema comes long before the last
    one), then a changed live database whose contents must survive."""
    if compression is not None:
        ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "COMPRESSION": compression}
    live = connections["default"].settings_dict["NAME"]
    with psycopg.connect(pg.conninfo(live), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS filler")
        conn.execute(
            "CREATE TABLE filler AS SELECT g, md5(random()::text) AS h "
            "FROM generate_series(1, 40000) g"
        )
    call_command("backup_database", stdout=StringIO())
    backed_up = pg.snapshot(live, APP_TABLES)
    call_command("seed_demo", vehicles=320, stdout=StringIO())
    manifest = only_manifest(backup_dir)
    obj = backup_dir / manifest["object"]["key"]
    assert obj.stat().st_size > 8 * 64 * 1024
    yield {
        "live": live,
        "object": obj,
        "backed_up": backed_up,
        "contents": pg.snapshot(live, APP_TABLES),
    }
    for leftover in pg.databases_like(f"{live}_"):
        pg.drop_database(leftover)
    connections["default"].close()  # a restore may have swapped the database under it
    with psycopg.connect(pg.conninfo(live), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS filler")  # not a model: the flush leaves it


@pytest.fixture
def schema_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """The download waits after its first piece until the schema's pg_restore has started.

    The scratch database is created from a thread beside the fetch, and a test backup arrives
    faster than CREATE DATABASE: without this the fetch could end, or fail, before the schema
    is started, and a test of what happens after it would test nothing."""
    started = threading.Event()
    real_start, real_open = StreamedLoading._start_schema, unpack._open_version

    def start_schema(self: StreamedLoading) -> None:
        real_start(self)
        started.set()

    class Held:
        def __init__(self, source: Any) -> None:
            self.source, self.reads = source, 0

        def read(self, size: int = -1) -> bytes:
            self.reads += 1
            if self.reads == 2:
                assert started.wait(timeout=30), "the schema's pg_restore never started"
            return self.source.read(size)

        def close(self) -> None:
            self.source.close()

    monkeypatch.setattr(StreamedLoading, "_start_schema", start_schema)
    monkeypatch.setattr(unpack, "_open_version", lambda *args: Held(real_open(*args)))


def _pg_restore(settings: Any, tmp_path: Path, script: str) -> Path:
    log = tmp_path / "pg_restore.log"
    wrapper = tmp_path / "pg_restore_wrapper"
    wrapper.write_text(script.format(log=log))
    wrapper.chmod(0o755)
    settings.NZILA_OPS = {**settings.NZILA_OPS, "PG_RESTORE": str(wrapper)}
    return log


def _streamed_runs(log: Path) -> list[str]:
    runs = log.read_text().splitlines() if log.exists() else []
    return [run for run in runs if "--section=pre-data" in run and ".pgdump" not in run]


def test_a_backup_corrupt_after_its_schema_went_into_scratch_changes_nothing(
    big_backup: dict, settings: Any, tmp_path: Path, schema_first: None
) -> None:
    log = _pg_restore(settings, tmp_path, LOGGING_PG_RESTORE)
    flip_byte(big_backup["object"], -1)  # the last chunk: all the others went to pg_restore
    error = restore_fails("--latest")
    assert "failed its checksum: sha256" in str(error)
    # The schema's pg_restore had started on the scratch database; the rows' never ran.
    assert len(_streamed_runs(log)) == 1
    assert ".pgdump" not in log.read_text()
    assert_live_untouched(big_backup)


@pytest.mark.parametrize("corrupt", [True, False], ids=["corrupt", "intact"])
def test_when_the_streamed_pg_restore_fails_a_corrupt_backup_is_still_called_corrupt(
    big_backup: dict, settings: Any, tmp_path: Path, corrupt: bool, schema_first: None
) -> None:
    log = _pg_restore(settings, tmp_path, FAILING_STREAMED_PG_RESTORE)
    if corrupt:
        flip_byte(big_backup["object"], len(big_backup["object"].read_bytes()) // 2)
    error = restore_fails("--latest")
    assert len(_streamed_runs(log)) == 1
    if corrupt:  # what pg_restore made of it does not matter: the object is corrupt
        assert "failed its checksum: sha256" in str(error)
    else:
        assert str(error).endswith(
            "pg_restore failed: could not read input file: refused by the test"
        )
    assert_live_untouched(big_backup)


def test_the_schema_is_created_beside_the_fetch_and_the_rows_in_parallel_after_it(
    big_backup: dict, settings: Any, tmp_path: Path
) -> None:
    log = _pg_restore(settings, tmp_path, LOGGING_PG_RESTORE)
    call_command("restore_database", "--latest", "--no-input", stdout=StringIO())
    [streamed] = _streamed_runs(log)
    assert "--section=data" not in streamed
    [finished] = [run for run in log.read_text().splitlines() if ".pgdump" in run]
    assert "--jobs=2" in finished and "--section=data --section=post-data" in finished
    live = big_backup["live"]
    with psycopg.connect(pg.conninfo(live)) as conn:
        assert conn.execute("SELECT count(*) FROM filler").fetchone() == (40000,)
        indexes = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'deals_deal'"
        ).fetchone()
    assert indexes is not None and indexes[0] > 0


@pytest.mark.parametrize("compression", ["gzip"])
def test_a_gzip_backup_is_written_by_this_process_and_still_streams_its_schema(
    big_backup: dict, settings: Any, backup_dir: Path, tmp_path: Path, schema_first: None
) -> None:
    # zstd -d writes a zstd backup's dump file itself (fetch_children.py); a gzip backup is
    # decompressed here, so StreamedLoading.write feeds the file the schema's pg_restore follows.
    assert only_manifest(backup_dir)["compression"]["algorithm"] == "gzip"
    log = _pg_restore(settings, tmp_path, LOGGING_PG_RESTORE)
    call_command("restore_database", "--latest", "--no-input", stdout=StringIO())
    [streamed] = _streamed_runs(log)
    assert "--section=data" not in streamed
    [finished] = [run for run in log.read_text().splitlines() if ".pgdump" in run]
    assert "--section=data --section=post-data" in finished
    live = big_backup["live"]
    with psycopg.connect(pg.conninfo(live)) as conn:
        assert conn.execute("SELECT count(*) FROM filler").fetchone() == (40000,)
    assert pg.snapshot(live, APP_TABLES) == big_backup["backed_up"]


def test_a_scratch_database_that_cannot_be_created_fails_the_restore_in_one_line(
    big_backup: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Created from a thread beside the fetch: its failure still reaches the operator.
    def refuse(self: PostgreSQLRestorer, lock: Any, target: str) -> None:
        raise RestoreError("could not create the scratch database: refused by the test")

    monkeypatch.setattr(PostgreSQLRestorer, "create", refuse)
    error = restore_fails("--latest")
    assert str(error).endswith("could not create the scratch database: refused by the test")
    assert_live_untouched(big_backup)
    assert [c for c in children() if b"pg_restore" in c.cmdline] == []


def test_a_fetch_that_fails_while_the_scratch_database_is_being_created_leaves_none(
    big_backup: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = threading.Event()
    real_create = PostgreSQLRestorer.create

    def slow(self: PostgreSQLRestorer, lock: Any, target: str) -> None:
        time.sleep(0.5)  # the fetch fails first: its cleanup must wait, then drop it
        real_create(self, lock, target)
        created.set()

    monkeypatch.setattr(PostgreSQLRestorer, "create", slow)
    flip_byte(big_backup["object"], 200)  # age refuses the first chunk, at once
    error = restore_fails("--latest")
    assert "is corrupt" in str(error) or "failed its checksum" in str(error)
    assert created.is_set()  # it was made, after the failure; and dropped:
    assert_live_untouched(big_backup)


def test_a_role_that_may_not_create_databases_is_refused_before_the_fetch(
    db_role_without_createdb: str,
) -> None:
    restorer = get_restorer("default")
    live = connections["default"].settings_dict["NAME"]
    with (
        psycopg.connect(pg.conninfo(live), user=db_role_without_createdb) as conn,
        pytest.raises(RestoreError) as caught,
    ):
        restorer.check_can_create(conn)
    assert str(caught.value) == (
        f"role '{db_role_without_createdb}' may not create databases, and a restore builds a "
        f"scratch database first: ALTER ROLE {db_role_without_createdb} CREATEDB"
    )
    with psycopg.connect(pg.conninfo(live)) as conn:  # the test's own role may
        restorer.check_can_create(conn)


@pytest.fixture
def db_role_without_createdb(ops_settings: Any) -> Iterator[str]:
    role = "nzila_test_no_createdb"
    live = connections["default"].settings_dict["NAME"]
    with psycopg.connect(pg.conninfo(live), autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN NOCREATEDB")
    yield role
    with psycopg.connect(pg.conninfo(live), autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
