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

from nzila_ops.backups.catalog import storage_named
from nzila_ops.backups.engines.pgclient import find_tool, tool_error
from nzila_ops.backups.engines.postgresql import PostgreSQLDumpEngine
from nzila_ops.backups.manifest import missing_tables, resolve_backup, table_label
from nzila_ops.backups.unpack import identities_for, unpack_backup
from nzila_ops.conf import get_config
from nzila_ops.exceptions import StorageError, VerificationFailed
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


#: A data entry of ``pg_restore --list``: "<id>; <tableoid> <oid> TABLE DATA <schema> <name>
#: <owner>". The names are printed as they are, unquoted, with line breaks turned into spaces.
TABLE_DATA_LINE = re.compile(r"\d+; \d+ \d+ TABLE DATA (.*)")


def _printed(schema: str, name: str) -> str:
    """A table's schema and name as pg_restore prints them, followed by the owner's space."""
    return " ".join(part.replace("\r", " ").replace("\n", " ") for part in (schema, name)) + " "


def tables_in_listing(listing: str, manifest: dict[str, Any]) -> set[tuple[str, str]]:
    """(schema, name) of every table of the manifest that has a TABLE DATA entry in a
    ``pg_restore --list`` output.

    Names may hold spaces, so an entry cannot be split into schema, name and owner; it is
    matched against the manifest's names instead: a table is found when an entry, not yet
    given to another table, starts with its printed schema and name. Longer printed names
    choose first, so that "a"."b" cannot take the entry of "a"."b c"; which of two tables
    that print identically gets an entry does not change how many are missing."""
    entries: dict[str, int] = {}
    # Split on newlines only: str.splitlines() would also split names at \x1c, \u2028...
    for line in listing.split("\n"):
        match = TABLE_DATA_LINE.fullmatch(line)
        if match:
            # Every prefix that ends at a space could be "<schema> <name> ".
            text = match.group(1)
            for end, char in enumerate(text):
                if char == " ":
                    entries[text[: end + 1]] = entries.get(text[: end + 1], 0) + 1
    keys = {(table["schema"], table["name"]) for table in manifest.get("tables", [])}
    found = set()
    for key in sorted(keys, key=lambda key: len(_printed(*key)), reverse=True):
        printed = _printed(*key)
        if entries.get(printed, 0) > 0:
            found.add(key)
            # The entry is used up for this name and for every shorter name it starts with.
            for end, char in enumerate(printed):
                if char == " ":
                    entries[printed[: end + 1]] -= 1
    return found


def verify_backup(
    name: str | None = None,
    latest: bool = False,
    database: str | None = None,
    progress: Progress = NULL_PROGRESS,
    storage_name: str | None = None,
) -> dict[str, Any]:
    """Verify one backup completely; raise VerificationFailed (or another OpsError) if not.

    ``storage_name`` verifies the backup as held by that storage (default BACKUP_STORAGE),
    found in its own manifests: a copy is proved intact where it is, not where it came from."""
    storage = storage_named(storage_name)
    manifest = resolve_backup(storage, database, name, latest)
    try:
        # A storage set to lock its objects whose bucket cannot: reported once the backup
        # itself is proved (an operator restoring in a hurry still learns that it is intact).
        storage.check_immutability()
        not_immutable = None
    except StorageError as exc:
        not_immutable = exc
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
        "storage": storage.name,
        "stored_size": result.stored_size,
        "raw_size": result.raw_size,
        "sha256": result.sha256,
        "encrypted": bool(manifest.get("encryption")),
        "tables": len(manifest.get("tables", [])),
    }
    if isinstance(sink, PgRestoreListSink):
        listing = sink.listing()
        missing = missing_tables(manifest, tables_in_listing(listing, manifest))
        if missing:
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            names = ", ".join(table_label(*key) for key in missing[:5])
            raise VerificationFailed(
                f"backup {manifest['name']}: the dump has no data for table {names}{more}"
            )
        report["toc_table_data_entries"] = sum(
            1 for line in listing.split("\n") if TABLE_DATA_LINE.fullmatch(line)
        )
    elif not sink.head.startswith(SQLITE_HEADER):
        raise VerificationFailed(f"backup {manifest['name']} is not a SQLite database file")
    if not_immutable is not None:
        raise StorageError(f"backup {manifest['name']} is intact, but {not_immutable}")
    return report
