"""SQLite restores: the verified file is written beside the live one, checked, and renamed over
it atomically; the previous file is kept as a hard link under a new name."""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from nzila_ops.backups.engines.sqlite import read_counts
from nzila_ops.backups.restorers.base import (
    PRE_RESTORE_MARK,
    SCRATCH_MARK,
    Restorer,
    stamp,
    verification_report,
)
from nzila_ops.exceptions import RestoreError


class SQLiteRestorer(Restorer):
    vendor = "sqlite"

    @property
    def path(self) -> Path:
        return Path(str(self.settings_dict.get("NAME") or "")).resolve()

    @property
    def live_name(self) -> str:
        return str(self.path)

    @contextmanager
    def lock(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(f".{self.path.name}.nzila-restore.lock")
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RestoreError(f"another restore or drill of {self.path} is running") from None
            yield fd
        finally:
            os.close(fd)  # releases the lock; the kernel does the same if we are killed

    def _siblings(self, mark: str) -> list[str]:
        pattern = re.compile(re.escape(self.path.name + mark) + r"\d{14}$")
        return sorted(
            str(p) for p in self.path.parent.iterdir() if pattern.match(p.name) and p.is_file()
        )

    def clean_leftovers(self, lock: int) -> list[str]:
        leftovers = self._siblings(SCRATCH_MARK)
        for name in leftovers:
            self.drop(lock, name)
        return leftovers

    def scratch_name(self, at: datetime) -> str:
        # Same directory as the live file, so the final rename is atomic.
        return str(self.path.with_name(f"{self.path.name}{SCRATCH_MARK}{stamp(at)}"))

    def exists(self, lock: int, name: str) -> bool:
        return Path(name).exists()

    def live_exists(self) -> bool:
        return self.path.exists()

    def raw_path(self, target: str, scratch_dir: Path) -> Path:
        return Path(target)  # the dump is the database file itself

    def load(self, lock: int, raw: Path, target: str) -> None:
        pass  # raw_path() is the target itself: the fetch already wrote the database file

    def verify(self, target: str, manifest: dict[str, Any]) -> dict[str, Any]:
        try:
            tables, sequences = read_counts(target)
        except Exception as exc:
            raise RestoreError(f"restored SQLite file cannot be read: {exc}") from None
        counts = {(t.schema, t.name): t.rows for t in tables}
        values = {(s.schema, s.name): s.last_value for s in sequences}
        return verification_report(manifest, counts, values)

    def swap(self, lock: int, target: str, at: datetime) -> str | None:
        previous = None
        if self.path.exists():
            previous = str(self.path.with_name(f"{self.path.name}{PRE_RESTORE_MARK}{stamp(at)}"))
            while Path(previous).exists():
                # A restore earlier in the same second kept its copy under this name.
                at += timedelta(seconds=1)
                previous = str(
                    self.path.with_name(f"{self.path.name}{PRE_RESTORE_MARK}{stamp(at)}")
                )
            os.link(self.path, previous)
            # A write-ahead log belongs to the previous file and must not meet the new one.
            for suffix in ("-wal", "-shm"):
                side = Path(f"{self.path}{suffix}")
                if side.exists():
                    os.replace(side, f"{previous}{suffix}")
        try:
            os.replace(target, self.path)  # atomic: readers see the old file or the new one
        except OSError as exc:
            if previous is not None:
                Path(previous).unlink(missing_ok=True)
            raise RestoreError(f"swap failed, the live database is unchanged: {exc}") from None
        return previous

    def drop(self, lock: int, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)

    def kept_copies(self, lock: int) -> list[str]:
        return self._siblings(PRE_RESTORE_MARK)
