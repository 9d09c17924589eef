"""Direct PostgreSQL access for tests: what exists, what a table holds, a restore by hand."""

from __future__ import annotations

import subprocess
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

import psycopg
from django.db import connections


def conninfo(dbname: str) -> str:
    s = connections["default"].settings_dict
    return f"host={s['HOST']} port={s['PORT']} user={s['USER']} dbname={dbname}"


def url(dbname: str) -> str:
    """``dbname`` on the test server as a DATABASE_URL, for a host project in a subprocess."""
    s = connections["default"].settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{dbname}"


def admin() -> psycopg.Connection:
    return psycopg.connect(conninfo("postgres"), autocommit=True)


def databases_like(prefix: str) -> list[str]:
    with admin() as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1", [prefix]
        ).fetchall()
    return [row[0] for row in rows]


def drop_database(name: str) -> None:
    with admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(name: str) -> None:
    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def snapshot(dbname: str, tables: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each table, in primary-key order: what 'contents match' compares."""
    with psycopg.connect(conninfo(dbname)) as conn:
        return {
            table: conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
            for table in tables
        }


def restore_by_hand(dump: Path) -> str:
    """pg_restore a dump into a new database, as an operator would; returns its name."""
    name = f"nzila_restored_{uuid.uuid4().hex[:8]}"
    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    s = connections["default"].settings_dict
    subprocess.run(
        ["pg_restore", "-h", s["HOST"], "-p", str(s["PORT"]), "-U", s["USER"], "-d", name,
         "--exit-on-error", "--no-owner", str(dump)],
        check=True, capture_output=True,
    )  # fmt: skip
    return name


#: Databases given a ``blobs`` table; dropped after each test (Django's flush knows only its
#: models' tables, so the rows would otherwise weigh on every later test's backups).
BLOB_DATABASES: set[str] = set()


def add_incompressible_rows(megabytes: int, dbname: str | None = None) -> None:
    """Random bytes defeat zstd: the stored object then spans several 5 MiB upload parts."""
    import os

    dbname = dbname or connections["default"].settings_dict["NAME"]
    BLOB_DATABASES.add(dbname)
    with psycopg.connect(conninfo(dbname), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS blobs (id serial PRIMARY KEY, data bytea)")
        for _ in range(megabytes):
            conn.execute("INSERT INTO blobs (data) VALUES (%s)", [os.urandom(1 << 20)])


def drop_blobs() -> None:
    while BLOB_DATABASES:
        dbname = BLOB_DATABASES.pop()
        # suppress: the test may have dropped the database itself.
        with suppress(psycopg.OperationalError), psycopg.connect(conninfo(dbname)) as conn:
            conn.execute("DROP TABLE IF EXISTS blobs")
            conn.commit()
