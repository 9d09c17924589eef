"""SQLite: a consistent copy through the sqlite3 online-backup API.

A live SQLite file cannot be streamed as-is while the app writes to it; the online-backup API
copies it page by page under SQLite's own locking into a scratch file, which is then counted and
streamed. That scratch copy is the snapshot (it is needed, not a needless copy) and is deleted
as soon as the stream is done.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import BinaryIO

from nzila_ops.backups.engines.base import DumpEngine, DumpResult, SequenceValue, TableCount
from nzila_ops.backups.workdir import work_directory
from nzila_ops.exceptions import DumpError


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def read_counts(path: str | Path) -> tuple[list[TableCount], list[SequenceValue]]:
    """Exact row counts of every table, and AUTOINCREMENT counters, of a SQLite file."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        names = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        tables = [
            TableCount(
                "main", name, db.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]
            )
            for name in names
        ]
        sequences: list[SequenceValue] = []
        has_sequences = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
        ).fetchone()
        if has_sequences:
            sequences = [
                SequenceValue("main", name, seq)
                for name, seq in db.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name")
            ]
    return tables, sequences


class SQLiteDumpEngine(DumpEngine):
    vendor = "sqlite"
    dump_format = "sqlite3-database"
    extension = ".sqlite3"

    @property
    def path(self) -> Path:
        return Path(str(self.settings_dict.get("NAME") or ""))

    def preflight(self) -> None:
        # Check first: sqlite3.connect() would quietly create an empty database.
        if not self.path.is_file():
            raise DumpError(f"SQLite database file {self.path} for {self.alias!r} does not exist")

    @contextmanager
    def open_dump(self) -> Iterator[tuple[BinaryIO, DumpResult]]:
        self.preflight()
        # The snapshot is the database in plain text: it goes in the private work directory.
        with work_directory("sqlite") as directory:
            copy = directory / "snapshot.sqlite3"
            copy.touch(mode=0o600)
            try:
                with (
                    closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as source,
                    closing(sqlite3.connect(copy)) as target,
                ):
                    # pages=-1: one step under one read lock, so the copy is one consistent state.
                    source.backup(target, pages=-1)
                tables, sequences = read_counts(copy)
            except sqlite3.Error as exc:
                raise DumpError(f"SQLite backup of {self.path} failed: {exc}") from None
            result = DumpResult(
                dump_format=self.dump_format,
                tool="sqlite3",
                tool_version=sqlite3.sqlite_version,
                server_version=sqlite3.sqlite_version,
                database_name=self.path.name,
                tables=tables,
                sequences=sequences,
            )
            with copy.open("rb") as stream:
                yield stream, result
