"""The contract of a restorer, and the verification every restorer shares.

Work happens in this order, and the live database is touched only in ``swap``:
``lock`` → ``clean_leftovers`` → ``start_loading`` (the caller fetches and verifies the object
into the ``Loading`` it returns, which ``finish``es the load into a scratch target once the fetch
has been verified: by default a file at ``raw_path`` then ``load``) → ``verify`` against the
manifest → ``swap`` (or stop, leaving the result in the target). A failure before the swap drops
the scratch target.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from nzila_ops.backups.manifest import missing_tables, table_label
from nzila_ops.backups.workdir import private_file_opener
from nzila_ops.exceptions import RestoreError, VerificationFailed

SCRATCH_MARK = "_nzila_scratch_"
PRE_RESTORE_MARK = "_pre_restore_"


def stamp(at: datetime) -> str:
    return f"{at:%Y%m%d%H%M%S}"


def verification_problems(
    manifest: dict[str, Any],
    counts: dict[tuple[str, str], int | None],
    sequences: dict[tuple[str, str], int | None],
) -> list[str]:
    """What differs between a restored database and the manifest ([] when it matches).

    ``counts`` maps (schema, table) to its row count, or None when the table is missing;
    ``sequences`` maps (schema, sequence) to its last value."""
    present = {key for key, rows in counts.items() if rows is not None}
    missing = missing_tables(manifest, present)
    problems = [f"table {table_label(*key)} is missing" for key in missing]
    for table in manifest.get("tables", []):
        key = (table["schema"], table["name"])
        found = counts.get(key)
        if key in present and found != table["rows"]:
            problems.append(f"table {table_label(*key)} has {found} rows, expected {table['rows']}")
    for sequence in manifest.get("sequences", []):
        key = (sequence["schema"], sequence["name"])
        recorded = sequence.get("last_value")
        if recorded is None:
            continue
        value = sequences.get(key)
        if value is None or value < recorded:
            problems.append(f"sequence {table_label(*key)} is at {value}, expected >= {recorded}")
    return problems


def verification_report(
    manifest: dict[str, Any],
    counts: dict[tuple[str, str], int | None],
    sequences: dict[tuple[str, str], int | None],
) -> dict[str, Any]:
    """Raise VerificationFailed on any difference; else return what was checked."""
    problems = verification_problems(manifest, counts, sequences)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise VerificationFailed(
            "restored database does not match the manifest: " + "; ".join(problems[:3]) + more
        )
    return {
        "tables": len(manifest.get("tables", [])),
        "rows": sum(table["rows"] for table in manifest.get("tables", [])),
        "sequences": len(manifest.get("sequences", [])),
        "matches_manifest": True,
    }


class Loading:
    """Receives the raw dump while the fetch verifies it, and completes the load afterwards.

    This one writes the file at ``raw``; ``finish`` (called only once the whole object has been
    verified) hands it to ``restorer.load``. ``close`` is always called, on success or failure,
    and must stop whatever still runs; the caller then drops the target on failure."""

    def __init__(self, restorer: Restorer, lock: Any, raw: Path, target: str) -> None:
        self.restorer, self.lock, self.raw, self.target = restorer, lock, raw, target
        self.file = open(raw, "wb", opener=private_file_opener)  # noqa: SIM115 - close()
        #: Busy seconds of loading work done beside the fetch, by stage (none here).
        self.stage_seconds: dict[str, float] = {}

    def write(self, data: bytes) -> int | None:
        return self.file.write(data)

    def direct_file(self) -> BinaryIO:
        """The dump file itself, for child processes to write the dump into instead of
        ``write`` (fetch_children.py): the same bytes, without passing through this process."""
        return self.file

    def finish(self) -> None:
        self.file.close()
        self.restorer.load(self.lock, self.raw, self.target)

    def close(self) -> None:
        self.file.close()


class Restorer:
    """Base class; subclasses implement every method."""

    vendor = ""

    def __init__(self, alias: str, settings_dict: dict[str, Any], config: dict[str, Any]) -> None:
        self.alias = alias
        self.settings_dict = settings_dict
        self.config = config

    @property
    def live_name(self) -> str:
        """The live database's name (PostgreSQL) or path (SQLite)."""
        raise NotImplementedError

    def check_compatible(self, manifest: dict[str, Any]) -> None:
        """Raise RestoreError unless this server and its tools can restore the backup."""
        if manifest.get("engine") != self.vendor:
            raise RestoreError(
                f"backup {manifest['name']} is a {manifest.get('engine')} backup; database "
                f"{self.alias!r} is {self.vendor}"
            )

    @contextmanager
    def lock(self) -> Iterator[Any]:
        """Hold an exclusive lock on restores of this database; released if the process dies."""
        raise NotImplementedError
        yield  # pragma: no cover

    def clean_leftovers(self, lock: Any) -> list[str]:
        """Drop scratch targets left by a restore or drill that was killed. Returns them."""
        raise NotImplementedError

    def check_target(self, target: str) -> None:
        """Raise InvalidArgument unless ``target`` can name a new database (or file)."""

    def scratch_name(self, at: datetime) -> str:
        raise NotImplementedError

    def exists(self, lock: Any, name: str) -> bool:
        raise NotImplementedError

    def live_exists(self) -> bool:
        """Whether the live database exists now (without the lock: for what the operator is
        asked to confirm, before anything is done)."""
        raise NotImplementedError

    def raw_path(self, target: str, scratch_dir: Path) -> Path:
        """Where the verified raw dump is written before ``load``."""
        raise NotImplementedError

    def start_loading(self, lock: Any, raw: Path, target: str) -> Loading:
        """Where the fetch writes the dump (the default: a file, loaded once it is complete)."""
        return Loading(self, lock, raw, target)

    def load(self, lock: Any, raw: Path, target: str) -> None:
        """Create ``target`` and load the raw dump into it."""
        raise NotImplementedError

    def verify(self, target: str, manifest: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def mark_restored(self, lock: Any, target: str, backup_name: str) -> None:
        """Record where ``target`` came from, durably. Optional: the base does nothing."""

    def swap(self, lock: Any, target: str, at: datetime) -> str | None:
        """Put ``target`` in place of the live database, keeping the previous one under a new
        name (returned; None if there was no live database). Puts the names back on failure."""
        raise NotImplementedError

    def drop(self, lock: Any, name: str) -> None:
        raise NotImplementedError

    def kept_copies(self, lock: Any) -> list[str]:
        """Names of the databases kept by earlier swaps (``<name>_pre_restore_<time>``)."""
        raise NotImplementedError
