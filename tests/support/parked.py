"""A backup held inside pg_dump, so a test can act while a dump is certainly running."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
from django.db import connections

from nzila_ops.backups.service import run_backup
from tests.support import pg


class ParkedBackup:
    """Runs a backup in a thread while a lock parks its pg_dump on ``vehicles_vehicle``, so a
    test can act while the dump is certainly in progress (after the snapshot was exported)."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.dbname = connections[alias].settings_dict["NAME"]
        self.result: dict[str, Any] = {}

    def __enter__(self) -> psycopg.Connection:
        self.blocker = psycopg.connect(pg.conninfo(self.dbname))
        self.blocker.execute("LOCK TABLE vehicles_vehicle IN ACCESS EXCLUSIVE MODE")
        self.thread = threading.Thread(target=self._backup)
        self.thread.start()
        with psycopg.connect(pg.conninfo(self.dbname), autocommit=True) as observer:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.thread.is_alive():
                if observer.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                    "AND application_name = 'pg_dump' AND wait_event_type = 'Lock'",
                    [self.dbname],
                ).fetchone()[0]:
                    return self.blocker
                time.sleep(0.02)
        self.blocker.close()
        raise AssertionError(f"pg_dump never waited on the lock: {self.result}")

    def _backup(self) -> None:
        try:
            self.result["record"] = run_backup(self.alias)
        except BaseException as exc:  # reported by __exit__
            self.result["error"] = exc

    def __exit__(self, *exc_info: object) -> None:
        self.blocker.commit()
        self.blocker.close()
        self.thread.join(timeout=60)
        assert "error" not in self.result, self.result.get("error")
