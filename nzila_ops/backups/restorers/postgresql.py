"""PostgreSQL restores: pg_restore -j into a fresh database, verify, then rename into place.

All database-level statements (CREATE/DROP/ALTER DATABASE) run on a connection to the
maintenance database (NZILA_OPS['MAINTENANCE_DATABASE'], "postgres"), so a restore works when the
live database has been dropped. That connection also holds a session advisory lock for the whole
restore: a second restore or drill of the same database is refused, and if this process is
killed the lock goes with its connection, so the next run can clean up after it.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from nzila_ops.backups.engines.pgclient import (
    PgClient,
    parse_version,
    server_version_text,
    tool_error,
)
from nzila_ops.backups.restorers.base import (
    PRE_RESTORE_MARK,
    SCRATCH_MARK,
    Loading,
    Restorer,
    stamp,
    verification_report,
)
from nzila_ops.exceptions import InvalidArgument, RestoreError

#: Seconds tried for the kept copy's name when restores follow each other within one second.
KEPT_NAME_TRIES = 5
MAX_IDENTIFIER = 63  # PostgreSQL truncates longer names silently; never let it.


def _name(base: str, suffix: str) -> str:
    return base[: MAX_IDENTIFIER - len(suffix)] + suffix


class PostgreSQLRestorer(Restorer):
    vendor = "postgresql"

    def __init__(self, alias: str, settings_dict: dict[str, Any], config: dict[str, Any]) -> None:
        super().__init__(alias, settings_dict, config)
        self.client = PgClient(alias, settings_dict, config)

    @property
    def live_name(self) -> str:
        return self.client.database_name

    def _maintenance(self) -> psycopg.Connection:
        connection = self.client.connect(self.config["MAINTENANCE_DATABASE"])
        connection.autocommit = True
        return connection

    def check_compatible(self, manifest: dict[str, Any]) -> None:
        super().check_compatible(manifest)
        with self._maintenance() as connection:
            server = connection.info.server_version
        backup_major = parse_version(manifest["dump"].get("server_version", ""))[0]
        if backup_major > server // 10000:
            raise RestoreError(
                f"backup {manifest['name']} is from PostgreSQL "
                f"{manifest['dump']['server_version']}, newer than this server "
                f"({server_version_text(server)}): restore it on PostgreSQL {backup_major} or later"
            )
        tool_major = parse_version(manifest["dump"].get("tool_version", ""))[0]
        pg_restore = self.client.tool_path("PG_RESTORE")
        restore_major = parse_version(self.client.tool_version(pg_restore))[0]
        if restore_major < tool_major:
            raise RestoreError(
                f"pg_restore {restore_major} cannot read a pg_dump {tool_major} archive: install "
                f"postgresql-client-{tool_major} or set NZILA_OPS['PG_RESTORE']"
            )

    @contextmanager
    def lock(self) -> Iterator[psycopg.Connection]:
        connection = self._maintenance()
        try:
            key = f"nzila_ops.restore:{self.live_name}"
            locked = connection.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s))", [key]
            ).fetchone()[0]
            if not locked:
                raise RestoreError(
                    f"another restore or drill of database {self.live_name!r} is running"
                    f"{_lock_holder(connection, key)}"
                )
            yield connection
        finally:
            connection.close()  # also releases the advisory lock

    def _databases_like(self, connection: psycopg.Connection, mark: str) -> list[str]:
        prefix = re.escape(self.live_name[: MAX_IDENTIFIER - len(mark) - 14]) + re.escape(mark)
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE datname ~ %s ORDER BY datname",
            [f"^{prefix}[0-9]{{14}}$"],
        ).fetchall()
        return [row[0] for row in rows]

    def clean_leftovers(self, lock: psycopg.Connection) -> list[str]:
        leftovers = self._databases_like(lock, SCRATCH_MARK)
        for name in leftovers:
            self.drop(lock, name)
        return leftovers

    def check_target(self, target: str) -> None:
        if not target.strip() or "/" in target or len(target.encode()) > MAX_IDENTIFIER:
            raise InvalidArgument(
                f"invalid target database name {target!r}: 1 to {MAX_IDENTIFIER} bytes, no '/'"
            )

    def scratch_name(self, at: datetime) -> str:
        return _name(self.live_name, f"{SCRATCH_MARK}{stamp(at)}")

    def exists(self, lock: psycopg.Connection, name: str) -> bool:
        return bool(lock.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())

    def live_exists(self) -> bool:
        with self._maintenance() as connection:
            return self.exists(connection, self.live_name)

    def raw_path(self, target: str, scratch_dir: Path) -> Path:
        return scratch_dir / f"{target}.pgdump"

    def create(self, lock: psycopg.Connection, target: str) -> None:
        lock.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(target))
        )

    def pg_restore_command(self, target: str, *options: str) -> list[str]:
        return [
            self.client.tool_path("PG_RESTORE"),
            *options,
            "--exit-on-error",
            "--no-password",
            f"--dbname={target}",
        ]

    @contextmanager
    def pg_restore_environment(self) -> Iterator[dict[str, str]]:
        with self.client.libpq_environment() as env:
            # Bulk-load settings for pg_restore's sessions only (PostgreSQL's "Populating a
            # Database" advice): commits need not wait for their WAL flush, since the scratch
            # database is thrown away on any failure and mark_restored()'s synchronous commit
            # flushes all of it before the database is used; index builds get more memory.
            env["PGOPTIONS"] = (
                f"{env.get('PGOPTIONS', '')} -c synchronous_commit=off "
                f"-c maintenance_work_mem={self.config['RESTORE_MAINTENANCE_WORK_MEM']}"
            ).strip()
            yield env

    def start_loading(self, lock: psycopg.Connection, raw: Path, target: str) -> Loading:
        from nzila_ops.backups.restorers.pg_stream import StreamedLoading

        self.check_can_create(lock)
        return StreamedLoading(self, lock, raw, target)

    def check_can_create(self, lock: psycopg.Connection) -> None:
        """Refuse a role that may not create databases, before the fetch: the scratch database
        is created beside the download, whose end would otherwise come first."""
        row = lock.execute(
            "SELECT rolcreatedb OR rolsuper, rolname FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if row is not None and not row[0]:
            raise RestoreError(
                f"role {row[1]!r} may not create databases, and a restore builds a scratch "
                f"database first: ALTER ROLE {row[1]} CREATEDB"
            )

    def load(self, lock: psycopg.Connection, raw: Path, target: str) -> None:
        self.create(lock, target)
        self.run_pg_restore(target, raw, f"--jobs={int(self.config['RESTORE_JOBS'])}")

    def run_pg_restore(self, target: str, raw: Path, *options: str) -> None:
        """pg_restore ``options`` of the whole dump file ``raw`` into ``target``."""
        command = [*self.pg_restore_command(target, *options), str(raw)]
        with self.pg_restore_environment() as env, tempfile.TemporaryFile() as stderr:
            result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
            if result.returncode != 0:
                detail = tool_error(stderr, result.returncode, "pg_restore")
                raise RestoreError(f"pg_restore failed: {detail}")

    def verify(self, target: str, manifest: dict[str, Any]) -> dict[str, Any]:
        counts: dict[tuple[str, str], int | None] = {}
        with self.client.connect(target) as connection:
            for table in manifest.get("tables", []):
                key = (table["schema"], table["name"])
                identifier = sql.SQL("{}.{}").format(*map(sql.Identifier, key))
                exists = connection.execute(
                    "SELECT to_regclass(%s)", [identifier.as_string(connection)]
                ).fetchone()[0]
                counts[key] = (
                    connection.execute(
                        sql.SQL("SELECT count(*) FROM ONLY {}").format(identifier)
                    ).fetchone()[0]
                    if exists
                    else None
                )
            sequences = {
                (schema, name): value
                for schema, name, value in connection.execute(
                    "SELECT schemaname, sequencename, last_value FROM pg_sequences"
                ).fetchall()
            }
        return verification_report(manifest, counts, sequences)

    def mark_restored(self, lock: psycopg.Connection, target: str, backup_name: str) -> None:
        # A synchronous commit: it also makes the restore's asynchronous commits durable.
        lock.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(target), sql.Literal(f"restored by nzila_ops from {backup_name}")
            )
        )

    def _rename(self, lock: psycopg.Connection, old: str, new: str) -> None:
        statement = sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(old), sql.Identifier(new)
        )
        # Terminated backends take a moment to exit; the rename fails until they have.
        deadline = time.monotonic() + 10
        while True:
            try:
                lock.execute(statement)
                return
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
                self._terminate(lock, old)
                time.sleep(0.1)

    def _terminate(self, lock: psycopg.Connection, name: str) -> None:
        lock.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )

    def _allow_connections(self, lock: psycopg.Connection, name: str, allow: bool) -> None:
        lock.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.SQL("true" if allow else "false")
            )
        )

    def swap(self, lock: psycopg.Connection, target: str, at: datetime) -> str | None:
        live = self.live_name
        previous = _name(live, f"{PRE_RESTORE_MARK}{stamp(at)}")
        for _ in range(KEPT_NAME_TRIES - 1):
            if not self.exists(lock, previous):
                break
            # A restore earlier in the same second kept its copy under this name. Past a few
            # tries the name is someone else's: the rename below fails and is undone.
            at += timedelta(seconds=1)
            previous = _name(live, f"{PRE_RESTORE_MARK}{stamp(at)}")
        had_live = self.exists(lock, live)
        live_renamed = False
        try:
            if had_live:
                # No new sessions while the names change; then end the current ones.
                self._allow_connections(lock, live, False)
                self._terminate(lock, live)
                self._rename(lock, live, previous)
                live_renamed = True
                self._allow_connections(lock, previous, True)
            self._rename(lock, target, live)
        except psycopg.Error as exc:
            self._undo_swap(lock, target, previous, had_live, live_renamed)
            first_line = str(exc).strip().splitlines()[0]
            raise RestoreError(
                f"swap failed, the live database was put back: {first_line}"
            ) from None
        except BaseException:
            # Ctrl-C or SIGTERM half-way (the likeliest moment: a rename's retry wait, with the
            # live database refusing connections): put the names back before unwinding.
            self._undo_swap(lock, target, previous, had_live, live_renamed)
            raise
        return previous if had_live else None

    def _undo_swap(
        self, lock: psycopg.Connection, target: str, previous: str, had_live: bool, renamed: bool
    ) -> None:
        """Put every name back as it was. Each step is tried; if one cannot be undone the
        error says exactly where the live database is, for the operator to finish by hand."""
        live = self.live_name
        try:
            if renamed:
                if self.exists(lock, live) and not self.exists(lock, target):
                    self._rename(lock, live, target)  # the restored copy took the name
                self._rename(lock, previous, live)
            if had_live:
                self._allow_connections(lock, live, True)
        except psycopg.Error as exc:
            where = previous if renamed and self.exists(lock, previous) else live
            raise RestoreError(
                f"swap failed and could not be undone ({str(exc).strip().splitlines()[0]}): the "
                f"previous live database is {where!r}; rename it to {live!r} and run ALTER "
                f"DATABASE {live} ALLOW_CONNECTIONS true"
            ) from None

    def drop(self, lock: psycopg.Connection, name: str) -> None:
        lock.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def kept_copies(self, lock: psycopg.Connection) -> list[str]:
        return self._databases_like(lock, PRE_RESTORE_MARK)


def _lock_holder(connection: psycopg.Connection, key: str) -> str:
    """ " (session 1234 of host 10.0.0.5, application 'manage.py', since 10:15:02 UTC)": who holds
    the restore lock, so an operator can tell a run in progress from a stuck session."""
    try:
        row = connection.execute(
            # A bigint advisory key is stored as classid (high half) and objid (low half).
            "SELECT a.pid, coalesce(host(a.client_addr), 'local'), a.application_name, "
            "to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtext(%s)::bigint",
            [key],
        ).fetchone()
    except psycopg.Error:
        return ""
    if row is None:
        return ""
    pid, host, application, since = row
    return f" (session {pid} from {host}, application {application or '-'!r}, since {since} UTC)"
