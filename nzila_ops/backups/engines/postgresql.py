"""PostgreSQL: ``pg_dump`` custom format from an exported snapshot, with exact row counts.

The row counts in the manifest and the dump come from the same snapshot: a REPEATABLE READ
transaction exports its snapshot (``pg_export_snapshot()``), ``pg_dump --snapshot`` dumps exactly
that view of the data, and the counts run in the exporting transaction while pg_dump works. Rows
inserted meanwhile by other connections are in neither.

pg_dump's own compression is off (``-Z0``): compression happens in the pipeline with zstd, and
the decompressed stream is a plain custom-format archive that ``pg_restore`` reads.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import psycopg
from psycopg import sql

from nzila_ops.backups.engines.base import DumpEngine, DumpResult, SequenceValue, TableCount
from nzila_ops.backups.engines.pgclient import PgClient, server_version_text, tool_error
from nzila_ops.backups.streams import enlarge_pipe
from nzila_ops.exceptions import DumpError

TABLES_SQL = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  -- Tables that belong to an extension are not dumped by pg_dump.
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""
SEQUENCES_SQL = """
SELECT schemaname, sequencename, last_value FROM pg_sequences
WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2
"""


class PostgreSQLDumpEngine(DumpEngine):
    vendor = "postgresql"
    dump_format = "pg_dump-custom"
    extension = ".pgdump"

    def __init__(self, alias: str, settings_dict: dict[str, Any], config: dict[str, Any]) -> None:
        super().__init__(alias, settings_dict, config)
        self.client = PgClient(alias, settings_dict, config)

    def preflight(self) -> None:
        self.client.tool_path("PG_DUMP")
        with self.client.connect() as connection:
            server_version = connection.info.server_version
        self.client.check_tool_not_older("PG_DUMP", server_version)

    # -- the dump --------------------------------------------------------------------------
    @contextmanager
    def open_dump(self) -> Iterator[tuple[BinaryIO, DumpResult]]:
        connection = self.client.connect()
        try:
            server_version = connection.info.server_version
            pg_dump, version = self.client.check_tool_not_older("PG_DUMP", server_version)
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = connection.execute("SELECT pg_export_snapshot()").fetchone()[0]
            result = DumpResult(
                dump_format=self.dump_format,
                tool="pg_dump",
                tool_version=version,
                server_version=server_version_text(server_version),
                database_name=self.client.database_name,
                snapshot=snapshot,
            )
            with self.client.libpq_environment() as env, tempfile.TemporaryFile() as stderr:
                env["PGDATABASE"] = self.client.database_name
                command = [
                    pg_dump,
                    "--format=custom",
                    "--compress=0",
                    f"--snapshot={snapshot}",
                    "--no-password",
                ]
                process = subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=stderr, env=env, bufsize=0
                )
                enlarge_pipe(process.stdout)  # pg_dump is not paused every 64 KiB
                counter = _Counter(connection, result)
                counter.start()
                try:
                    yield process.stdout, result  # type: ignore[misc]
                except BaseException:
                    process.kill()
                    process.wait()
                    counter.join()
                    raise
                returncode = process.wait()
                counter.join()
                if returncode != 0:
                    raise DumpError(f"pg_dump failed: {tool_error(stderr, returncode, 'pg_dump')}")
                if counter.error is not None:
                    raise DumpError(f"counting rows failed: {counter.error}")
        finally:
            connection.close()


class _Counter(threading.Thread):
    """Counts rows and reads sequences in the snapshot-exporting transaction, alongside pg_dump."""

    def __init__(self, connection: psycopg.Connection, result: DumpResult) -> None:
        super().__init__(name="nzila-row-count", daemon=True)
        self.connection = connection
        self.result = result
        self.error: str | None = None

    def run(self) -> None:
        try:
            tables = self.connection.execute(TABLES_SQL).fetchall()
            for schema, name in tables:
                query = sql.SQL("SELECT count(*) FROM ONLY {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(name)
                )
                rows = self.connection.execute(query).fetchone()[0]
                self.result.tables.append(TableCount(schema, name, rows))
            for schema, name, last_value in self.connection.execute(SEQUENCES_SQL).fetchall():
                self.result.sequences.append(SequenceValue(schema, name, last_value))
        except psycopg.Error as exc:
            self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
