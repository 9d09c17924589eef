"""restore_database as an operator runs it: a separate process, a typed confirmation, and a
process killed half-way through."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from tests.backups.helpers import APP_TABLES
from tests.support import pg
from tests.support.host import MANAGE_PY, manage

pytestmark = pytest.mark.postgres


@pytest.fixture
def host(host_project: dict[str, str]) -> dict[str, str]:
    """The example project on its own database, migrated, seeded and backed up once."""
    return host_project


def test_only_the_exact_word_restore_confirms(host: dict[str, str]) -> None:
    name = host["DBNAME"]
    before = pg.snapshot(name, APP_TABLES)
    with psycopg.connect(pg.conninfo(name), autocommit=True) as conn:
        conn.execute("DELETE FROM payments_payment")  # the accident to undo
    damaged = pg.snapshot(name, APP_TABLES)
    for answer in ["restore\n", "RESTORE \n", "yes\n", "\n", ""]:
        result = manage(host, "restore_database", "--latest", input=answer)
        assert result.returncode != 0, answer
        assert result.stderr.strip() == (
            "CommandError: restore aborted: not confirmed, nothing was changed"
        )
        assert pg.snapshot(name, APP_TABLES) == damaged
        assert pg.databases_like(f"{name}_") == []

    result = manage(host, "restore_database", "--latest", input="RESTORE\n")
    assert result.returncode == 0, result.stderr
    assert "Type RESTORE to continue" in result.stdout
    assert pg.snapshot(name, APP_TABLES) == before


def test_a_killed_restore_leaves_the_live_database_and_the_next_run_cleans_up(
    host: dict[str, str],
) -> None:
    name = host["DBNAME"]
    with psycopg.connect(pg.conninfo(name), autocommit=True) as conn:
        # Enough data that pg_restore is still working when we kill it.
        conn.execute(
            "CREATE TABLE filler AS SELECT g, md5(g::text) AS h FROM generate_series(1, 800000) g"
        )
    assert manage(host, "backup_database").returncode == 0
    with psycopg.connect(pg.conninfo(name), autocommit=True) as conn:
        conn.execute(
            "DELETE FROM deals_deal WHERE id % 2 = 0 "
            "AND id NOT IN (SELECT deal_id FROM payments_payment)"
        )
    live_before = pg.snapshot(name, APP_TABLES)

    process = subprocess.Popen(
        [
            sys.executable,
            str(MANAGE_PY),
            "restore_database",
            "--latest",
            "--no-input",
        ],
        env=host,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not pg.databases_like(f"{name}_nzila_scratch_"):
        time.sleep(0.01)
    assert pg.databases_like(f"{name}_nzila_scratch_"), "the restore never reached phase 2"
    time.sleep(0.3)  # inside pg_restore
    os.killpg(process.pid, signal.SIGKILL)  # the command and its pg_restore, as an OOM kill would
    process.wait()

    assert pg.snapshot(name, APP_TABLES) == live_before
    leftovers = pg.databases_like(f"{name}_nzila_scratch_")
    assert leftovers, "expected the killed restore's scratch database"

    result = manage(host, "restore_database", "--latest", "--no-input")
    assert result.returncode == 0, result.stderr
    assert f"removed leftovers: {leftovers[0]}" in result.stdout
    assert pg.databases_like(f"{name}_nzila_scratch_") == []
    assert pg.databases_like(f"{name}_pre_restore_")
