"""Direct PostgreSQL access for tests: what exists, what a table holds."""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connections


def conninfo(dbname: str) -> str:
    s = connections["default"].settings_dict
    return f"host={s['HOST']} port={s['PORT']} user={s['USER']} dbname={dbname}"


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
