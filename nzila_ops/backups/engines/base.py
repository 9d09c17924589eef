"""The contract of a dump engine.

An engine turns one Django database alias into a byte stream in a standard format (pg_dump custom
format, a SQLite database file) and reports, from the same consistent snapshot, the exact row
count of every table and the value of every sequence. Restores verify against those numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO


@dataclass(frozen=True)
class TableCount:
    schema: str
    name: str
    rows: int


@dataclass(frozen=True)
class SequenceValue:
    schema: str
    name: str
    last_value: int | None


@dataclass
class DumpResult:
    """What an engine learned while dumping; filled in before ``open_dump`` returns."""

    dump_format: str
    tool: str
    tool_version: str
    server_version: str
    database_name: str
    tables: list[TableCount] = field(default_factory=list)
    sequences: list[SequenceValue] = field(default_factory=list)
    snapshot: str | None = None

    def as_manifest(self) -> dict[str, Any]:
        return {
            "format": self.dump_format,
            "tool": self.tool,
            "tool_version": self.tool_version,
            "server_version": self.server_version,
            "database_name": self.database_name,
            "snapshot": self.snapshot,
        }

    def tables_manifest(self) -> list[dict[str, Any]]:
        return [asdict(table) for table in self.tables]

    def sequences_manifest(self) -> list[dict[str, Any]]:
        return [asdict(sequence) for sequence in self.sequences]


class DumpEngine:
    """Base class. Subclasses set ``vendor``, ``dump_format``, ``extension`` and implement both
    methods."""

    vendor: str = ""
    dump_format: str = ""
    #: File-name extension of the raw dump, before compression (".pgdump", ".sqlite3").
    extension: str = ""

    def __init__(self, alias: str, settings_dict: dict[str, Any], config: dict[str, Any]) -> None:
        self.alias = alias
        self.settings_dict = settings_dict
        self.config = config

    def preflight(self) -> None:
        """Raise DumpError unless a dump can start now (tools present and recent enough, database
        reachable). Cheap: run before anything is written."""
        raise NotImplementedError

    @contextmanager
    def open_dump(self) -> Iterator[tuple[BinaryIO, DumpResult]]:
        """Yield the dump stream and a DumpResult. On leaving the block, wait for the dump to
        finish and raise DumpError if it failed; only then is the DumpResult complete."""
        raise NotImplementedError
        yield  # pragma: no cover
