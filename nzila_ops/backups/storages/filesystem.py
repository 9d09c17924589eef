"""Backups in a local (or mounted) directory: the embedded default."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from nzila_ops.backups.storages.base import BackupStorage, ObjectWriter, check_key
from nzila_ops.exceptions import ConfigurationError, StorageError

PARTIAL_SUFFIX = ".partial"


def _os_error(action: str, path: Path, exc: OSError) -> StorageError:
    if exc.errno == errno.ENOSPC:
        return StorageError(f"local disk full while {action} {path}")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorageError(f"permission denied while {action} {path}")
    return StorageError(f"{action} {path} failed: {exc.strerror or exc}")


class _FileWriter(ObjectWriter):
    """Writes to a hidden temporary file in the target directory, renamed into place on commit."""

    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX, dir=path.parent
            )
        except OSError as exc:
            raise _os_error("creating", path, exc) from None
        self._temp = Path(temp)
        self._file = os.fdopen(fd, "wb", buffering=1 << 20)

    def write(self, data: bytes) -> int:
        try:
            return self._file.write(data)
        except OSError as exc:
            raise _os_error("writing", self._path, exc) from None

    def commit(self) -> None:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._temp, self._path)
            _fsync_directory(self._path.parent)
        except OSError as exc:
            self.abort()
            raise _os_error("writing", self._path, exc) from None

    def abort(self) -> None:
        # Closing may fail again (disk full); removing the file is what matters.
        with suppress(OSError):
            self._file.close()
        self._temp.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    # Without this, a power cut after rename can leave the directory entry unwritten.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileSystemStorage(BackupStorage):
    def __init__(self, name: str, location: str | None = None) -> None:
        super().__init__(name)
        if not location:
            raise ConfigurationError(f"backup storage {name!r} needs a 'location' directory")
        self.root = Path(location).expanduser()

    def describe(self) -> str:
        return f"file://{self.root}"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".nzila-check-"):
                pass
        except OSError as exc:
            raise _os_error("checking", self.root, exc) from None

    def open_writer(self, key: str) -> ObjectWriter:
        return _FileWriter(self._path(key))

    def open_reader(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise StorageError(f"no object {key} in {self.describe()}") from None
        except OSError as exc:
            raise _os_error("reading", path, exc) from None

    def write_bytes(self, key: str, data: bytes) -> None:
        writer = self.open_writer(key)
        try:
            writer.write(data)
        except BaseException:
            writer.abort()
            raise
        writer.commit()

    def read_bytes(self, key: str) -> bytes:
        with self.open_reader(key) as stream:
            return stream.read()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise StorageError(f"no object {key} in {self.describe()}") from None

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise _os_error("deleting", self._path(key), exc) from None

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return
        for directory, _subdirs, files in os.walk(base):
            for filename in files:
                if filename.startswith("."):
                    continue  # temporary files of writes in progress
                full = Path(directory) / filename
                yield full.relative_to(self.root).as_posix()
