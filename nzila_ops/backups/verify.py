"""``verify_backup``: prove a backup is intact and readable without restoring it.

Streams the object once: SHA-256 and size against the manifest, age authentication, the
compression checksum, and the dump's own table of contents (``pg_restore --list`` reading the
stream, or the SQLite file header), which must name every table the manifest lists.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from contextlib import suppress
from typing import Any

from nzila_ops.backups.engines.pgclient import find_tool, tool_error
from nzila_ops.backups.engines.postgresql import PostgreSQLDumpEngine
from nzila_ops.backups.manifest import resolve_backup
from nzila_ops.backups.storages import get_storage
from nzila_ops.backups.unpack import identities_for, unpack_backup
from nzila_ops.conf import get_config
from nzila_ops.exceptions import VerificationFailed
from nzila_ops.progress import NULL_PROGRESS, Progress

SQLITE_HEADER = b"SQLite format 3\x00"


class PgRestoreListSink:
    """Feeds the stream to ``pg_restore --list``. pg_restore stops reading once it has the
    table of contents; the rest of the stream is still read (and so still verified)."""

    def __init__(self) -> None:
        pg_restore = find_tool(get_config(), "PG_RESTORE")
        # Files rather than pipes: nobody has to drain them while the stream is written.
        self._stdout = tempfile.TemporaryFile()  # noqa: SIM115
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(
            [pg_restore, "--list"], stdin=subprocess.PIPE, stdout=self._stdout, stderr=self._stderr
        )
        self._open = True

    def write(self, data: bytes) -> int:
        if self._open:
            try:
                self._process.stdin.write(data)  # type: ignore[union-attr]
            except BrokenPipeError:
                self._open = False
        return len(data)

    def _close_stdin(self) -> None:
        with suppress(BrokenPipeError):
            self._process.stdin.close()  # type: ignore[union-attr]
        self._open = False

    def abort(self) -> None:
        self._close_stdin()
        self._process.kill()
        self._process.wait()

    def listing(self) -> str:
        self._close_stdin()
        returncode = self._process.wait()
        self._stdout.seek(0)
        self._stderr.seek(0)
        if returncode != 0:
            detail = tool_error(self._stderr, returncode, "pg_restore")
            raise VerificationFailed(f"pg_restore cannot read the dump: {detail}")
        return self._stdout.read().decode(errors="replace")


class SQLiteHeaderSink:
    def __init__(self) -> None:
        self.head = b""

    def write(self, data: bytes) -> int:
        if len(self.head) < 100:
            self.head += data[: 100 - len(self.head)]
        return len(data)

    def abort(self) -> None:
        pass


def tables_in_listing(listing: str) -> set[tuple[str, str]]:
    """(schema, table) of every TABLE DATA entry of a ``pg_restore --list`` output."""
    found = set()
    for line in listing.splitlines():
        match = re.search(r"\bTABLE DATA (\S+) (\S+) ", line)
        if match and not line.lstrip().startswith(";"):
            found.add((match.group(1), match.group(2)))
    return found


def verify_backup(
    name: str | None = None,
    latest: bool = False,
    database: str | None = None,
    progress: Progress = NULL_PROGRESS,
) -> dict[str, Any]:
    """Verify one backup completely; raise VerificationFailed (or another OpsError) if not."""
    storage = get_storage()
    manifest = resolve_backup(storage, database, name, latest)
    identities = identities_for(manifest)
    dump_format = manifest["dump"]["format"]
    sink: PgRestoreListSink | SQLiteHeaderSink
    is_pg_dump = dump_format == PostgreSQLDumpEngine.dump_format
    sink = PgRestoreListSink() if is_pg_dump else SQLiteHeaderSink()
    progress.phase("verify")
    try:
        result = unpack_backup(storage, manifest, sink, identities, progress)
    except BaseException:
        sink.abort()
        raise
    progress.finish()
    report: dict[str, Any] = {
        "name": manifest["name"],
        "database": manifest["database_alias"],
        "stored_size": result.stored_size,
        "raw_size": result.raw_size,
        "sha256": result.sha256,
        "encrypted": bool(manifest.get("encryption")),
        "tables": len(manifest.get("tables", [])),
    }
    if isinstance(sink, PgRestoreListSink):
        listed = tables_in_listing(sink.listing())
        missing = [
            f"{t['schema']}.{t['name']}"
            for t in manifest.get("tables", [])
            if (t["schema"], t["name"]) not in listed
        ]
        if missing:
            raise VerificationFailed(
                f"backup {manifest['name']}: the dump has no data for {', '.join(missing[:5])}"
            )
        report["toc_table_data_entries"] = len(listed)
    elif not sink.head.startswith(SQLITE_HEADER):
        raise VerificationFailed(f"backup {manifest['name']} is not a SQLite database file")
    return report
