"""PostgreSQL: ``pg_dump`` custom format from an exported snapshot, with exact row counts.

The row counts in the manifest and the dump come from the same snapshot: a REPEATABLE READ
transaction exports its snapshot (``pg_export_snapshot()``), ``pg_dump --snapshot`` dumps exactly
that view of the data, and the counts run in the exporting transaction while pg_dump works. Rows
inserted meanwhile by other connections are in neither.

pg_dump's own compression is off (``-Z0``): compression happens in the pipeline with zstd, and
the decompressed stream is a plain custom-format archive that ``pg_restore`` reads.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

import psycopg
from psycopg import sql

from nzila_ops.backups.engines.base import DumpEngine, DumpResult, SequenceValue, TableCount
from nzila_ops.exceptions import DumpError

# libpq parameters that may appear in a Django DATABASES OPTIONS dict (the rest are Django's own).
LIBPQ_OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "service": "PGSERVICE",
    "passfile": "PGPASSFILE",
}
F_SETPIPE_SZ = 1031  # Linux: grow the pipe so pg_dump is not paused every 64 KiB.
PIPE_SIZE = 1 << 20

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


def parse_version(text: str) -> tuple[int, int]:
    """(major, minor) from 'pg_dump (PostgreSQL) 15.20 (Debian ...)' or a server '15.20'."""
    match = re.search(r"(\d+)(?:\.(\d+))?", text)
    if not match:
        return (0, 0)
    return int(match.group(1)), int(match.group(2) or 0)


def server_version_text(version_num: int) -> str:
    # 150020 -> "15.20"; versions 10+ encode major * 10000 + minor.
    return f"{version_num // 10000}.{version_num % 10000}"


def _escape_pgpass(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


class PostgreSQLDumpEngine(DumpEngine):
    vendor = "postgresql"
    dump_format = "pg_dump-custom"
    extension = ".pgdump"

    # -- connection ------------------------------------------------------------------------
    @property
    def database_name(self) -> str:
        return self.settings_dict.get("NAME") or ""

    def _where(self) -> str:
        host = self.settings_dict.get("HOST") or "local socket"
        port = self.settings_dict.get("PORT") or 5432
        return f"{host}:{port}" if host != "local socket" else host

    def connect(self, dbname: str | None = None) -> psycopg.Connection:
        """A psycopg connection with this alias's settings (``dbname`` overrides NAME)."""
        s = self.settings_dict
        params: dict[str, Any] = {
            "dbname": dbname or self.database_name,
            "user": s.get("USER") or None,
            "password": s.get("PASSWORD") or None,
            "host": s.get("HOST") or None,
            "port": str(s["PORT"]) if s.get("PORT") else None,
            "connect_timeout": 10,
        }
        params.update({k: v for k, v in (s.get("OPTIONS") or {}).items() if k in LIBPQ_OPTIONS})
        try:
            return psycopg.connect(**{k: v for k, v in params.items() if v is not None})
        except psycopg.Error as exc:
            first_line = (
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            )
            raise DumpError(
                f"cannot connect to database {self.alias!r} ({params['dbname']} at "
                f"{self._where()}): {first_line}"
            ) from None

    @contextmanager
    def libpq_environment(self) -> Iterator[dict[str, str]]:
        """Environment for pg_dump/pg_restore/psql: connection settings in PG* variables and the
        password in a private pgpass file, never on the command line (visible in ``ps``)."""
        s = self.settings_dict
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
            if s.get(key):
                env[variable] = str(s[key])
        for option, value in (s.get("OPTIONS") or {}).items():
            if option in LIBPQ_OPTIONS:
                env[LIBPQ_OPTIONS[option]] = str(value)
        private_dir = tempfile.mkdtemp(prefix="nzila-pg-")  # mode 0700
        try:
            if s.get("PASSWORD"):
                passfile = Path(private_dir) / "pgpass"
                passfile.touch(mode=0o600)
                passfile.write_text(f"*:*:*:*:{_escape_pgpass(str(s['PASSWORD']))}\n")
                env["PGPASSFILE"] = str(passfile)
            yield env
        finally:
            shutil.rmtree(private_dir, ignore_errors=True)

    # -- tools -----------------------------------------------------------------------------
    def tool_path(self, setting: str) -> str:
        configured = self.config[setting]
        found = shutil.which(configured)
        if not found:
            raise DumpError(
                f"{configured} not found: install the PostgreSQL client (postgresql-client) "
                f"or set NZILA_OPS['{setting}'] to its path"
            )
        return found

    def tool_version(self, path: str) -> str:
        try:
            output = subprocess.run(
                [path, "--version"], capture_output=True, text=True, timeout=30, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise DumpError(f"cannot run {path} --version: {exc}") from None
        match = re.search(r"\d+(?:\.\d+)?", output)
        return match.group(0) if match else output.strip()

    def check_tool_not_older(self, setting: str, server_version_num: int) -> tuple[str, str]:
        path = self.tool_path(setting)
        version = self.tool_version(path)
        server_major = server_version_num // 10000
        if parse_version(version)[0] < server_major:
            raise DumpError(
                f"{Path(path).name} {version} is older than the server (PostgreSQL "
                f"{server_version_text(server_version_num)}): install postgresql-client-"
                f"{server_major} or set NZILA_OPS['{setting}']"
            )
        return path, version

    def preflight(self) -> None:
        self.tool_path("PG_DUMP")
        with self.connect() as connection:
            server_version = connection.info.server_version
        self.check_tool_not_older("PG_DUMP", server_version)

    # -- the dump --------------------------------------------------------------------------
    @contextmanager
    def open_dump(self) -> Iterator[tuple[BinaryIO, DumpResult]]:
        connection = self.connect()
        try:
            server_version = connection.info.server_version
            pg_dump, version = self.check_tool_not_older("PG_DUMP", server_version)
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = connection.execute("SELECT pg_export_snapshot()").fetchone()[0]
            result = DumpResult(
                dump_format=self.dump_format,
                tool="pg_dump",
                tool_version=version,
                server_version=server_version_text(server_version),
                database_name=self.database_name,
                snapshot=snapshot,
            )
            with self.libpq_environment() as env, tempfile.TemporaryFile() as stderr:
                env["PGDATABASE"] = self.database_name
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
                with suppress(OSError):
                    fcntl.fcntl(process.stdout.fileno(), F_SETPIPE_SZ, PIPE_SIZE)
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
                    raise DumpError(f"pg_dump failed: {_last_error_line(stderr, returncode)}")
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


def _last_error_line(stderr: Any, returncode: int) -> str:
    stderr.seek(0)
    lines = [line.strip() for line in stderr.read().decode(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return f"exit status {returncode}"
    # Prefer the first "error:" line: later ones are usually consequences.
    errors = [line for line in lines if "error:" in line]
    line = (errors or lines)[0]
    return re.sub(r"^pg_dump:\s*(error:\s*)?", "", line)
