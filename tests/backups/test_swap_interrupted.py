"""Ctrl-C or SIGTERM in the middle of the swap (commands turn SIGTERM into an interrupt) puts
the names back before unwinding: the live database must never be left refusing connections or
under its kept name."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from django.db import connections

from nzila_ops.backups.restorers.postgresql import PostgreSQLRestorer
from nzila_ops.conf import get_config
from tests.support import pg

pytestmark = pytest.mark.postgres


class InterruptedAtSecondRename(PostgreSQLRestorer):
    """The real restorer, interrupted where an operator's Ctrl-C would most likely land: after
    the live database was renamed away, before the restored copy took its name."""

    renames = 0

    def _rename(self, lock: psycopg.Connection, old: str, new: str) -> None:
        self.renames += 1
        if self.renames == 2:
            raise KeyboardInterrupt
        super()._rename(lock, old, new)


def test_an_interrupted_swap_puts_the_live_database_back(transactional_db: Any) -> None:
    live, restored = f"nzila_swap_{uuid.uuid4().hex[:8]}", f"nzila_swap_{uuid.uuid4().hex[:8]}"
    for name, rows in ((live, 3), (restored, 5)):
        pg.create_database(name)
        with psycopg.connect(pg.conninfo(name), autocommit=True) as conn:
            conn.execute("CREATE TABLE t AS SELECT generate_series(1, %s) AS n", [rows])
    settings = {**connections["default"].settings_dict, "NAME": live}
    restorer = InterruptedAtSecondRename("default", settings, get_config())
    try:
        with restorer.lock() as lock, pytest.raises(KeyboardInterrupt):
            restorer.swap(lock, restored, datetime.now(UTC))
        # The live database is back under its name, accepting connections, with its own rows.
        with psycopg.connect(pg.conninfo(live)) as conn:
            assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 3
        assert pg.databases_like(live) == [live]
        assert pg.databases_like(restored) == [restored]
    finally:
        for name in pg.databases_like("nzila_swap_"):
            pg.drop_database(name)
