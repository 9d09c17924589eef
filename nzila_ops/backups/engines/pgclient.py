"""PostgreSQL connection settings of one Django alias, shared by the dump and restore sides.

The password reaches libpq tools (pg_dump, pg_restore) through a private pgpass file, never the
command line, where `ps` would show it to every user of the host.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from nzila_ops.backups.tool_errors import tool_error  # noqa: F401 - re-exported for its callers
from nzila_ops.backups.workdir import work_directory
from nzila_ops.exceptions import DatabaseUnreachable, DumpError

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


def find_tool(config: dict[str, Any], setting: str) -> str:
    """Full path of the client tool named by NZILA_OPS[setting] ("PG_DUMP", "PG_RESTORE")."""
    configured = config[setting]
    found = shutil.which(configured)
    if not found:
        raise DumpError(
            f"{configured} not found: install the PostgreSQL client (postgresql-client) "
            f"or set NZILA_OPS['{setting}'] to its path"
        )
    return found


class PgClient:
    """Connections and client tools for one Django database alias."""

    def __init__(self, alias: str, settings_dict: dict[str, Any], config: dict[str, Any]) -> None:
        self.alias = alias
        self.settings_dict = settings_dict
        self.config = config
        self._tool_versions: dict[str, str] = {}

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
            raise DatabaseUnreachable(
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
        with work_directory("pg") as private_dir:
            if s.get("PASSWORD"):
                passfile = private_dir / "pgpass"
                passfile.touch(mode=0o600)
                passfile.write_text(f"*:*:*:*:{_escape_pgpass(str(s['PASSWORD']))}\n")
                env["PGPASSFILE"] = str(passfile)
            yield env

    def tool_path(self, setting: str) -> str:
        return find_tool(self.config, setting)

    def tool_version(self, path: str) -> str:
        if path in self._tool_versions:
            return self._tool_versions[path]
        try:
            output = subprocess.run(
                [path, "--version"], capture_output=True, text=True, timeout=30, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise DumpError(f"cannot run {path} --version: {exc}") from None
        match = re.search(r"\d+(?:\.\d+)?", output)
        self._tool_versions[path] = match.group(0) if match else output.strip()
        return self._tool_versions[path]

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
