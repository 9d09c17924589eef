"""The PostgreSQL server holding the generated databases: connecting, existence and size.

``generate_db.py`` re-exports these names; ``bench_backup.py`` and ``bench_restore.py`` use
them as ``generate_db.Server`` and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class Server:
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"

    def connect(self, dbname: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname=dbname, autocommit=True
        )


def database_exists(server: Server, dbname: str) -> bool:
    with server.connect("postgres") as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
    return row is not None


def database_size(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    assert row is not None
    return int(row[0])
