"""Backups in a local (or mounted) directory: the embedded default."""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from nzila_ops.backups.storages.base import BackupStorage, ObjectWriter, check_key
from nzila_ops.exceptions import ConfigurationError, StorageError

PARTIAL_SUFFIX = ".partial"
NURSERY_SUFFIX = ".partial-new"
CHECK_PREFIX = ".nzila-check-"
# Unlocked temporary files (a check's probe, a partial killed before its lock) are removed only
# once older than this.
UNLOCKED_GRACE_SECONDS = 60


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
            # Born under a name the sweep only removes when old, locked, then renamed: a sweep
            # never finds a .partial of a live writer unlocked. The lock is held until the file
            # is closed and dropped by the kernel when the process dies, however it dies.
            fd, nursery = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=NURSERY_SUFFIX, dir=path.parent
            )
            _lock_if_supported(fd)
            temp = nursery[: -len(NURSERY_SUFFIX)] + PARTIAL_SUFFIX
            os.rename(nursery, temp)
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
            # Renamed while still open: closing first would drop the lock and let a sweep take
            # the finished file for an abandoned one.
            os.replace(self._temp, self._path)
            self._file.close()
            _fsync_directory(self._path.parent)
        except OSError as exc:
            self.abort()
            raise _os_error("writing", self._path, exc) from None

    def abort(self) -> None:
        # Closing may fail again (disk full); removing the file is what matters.
        with suppress(OSError):
            self._file.close()
        self._temp.unlink(missing_ok=True)


def _flag(value: bool | str, option: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "yes"):
        return True
    if str(value).lower() in ("false", "0", "no"):
        return False
    raise ValueError(f"option {option}={value!r}: use true or false")


def _fsync_directory(directory: Path) -> None:
    # Without this, a power cut after rename can leave the directory entry unwritten.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileSystemStorage(BackupStorage):
    """``location`` must exist: a typo (``/srv/backup``) or an unmounted volume must not turn into
    backups on the local disk. ``create=True`` (``file:///srv/backups?create=true``) creates it."""

    def __init__(self, name: str, location: str | None = None, create: bool | str = False) -> None:
        super().__init__(name)
        if not location:
            raise ConfigurationError(f"backup storage {name!r} needs a 'location' directory")
        self.root = Path(location).expanduser()
        self.create = _flag(create, "create")

    def describe(self) -> str:
        return f"file://{self.root}"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _require_root(self) -> None:
        if not self.root.is_dir():
            raise StorageError(
                f"backup storage directory {self.root} does not exist (a typo, or a volume "
                "that is not mounted?): create it, or add ?create=true to the storage URL"
            )

    def check(self) -> None:
        try:
            if self.create:
                self.root.mkdir(parents=True, exist_ok=True)
            self._require_root()
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=CHECK_PREFIX):
                pass
        except OSError as exc:
            raise _os_error("checking", self.root, exc) from None

    def open_writer(self, key: str) -> ObjectWriter:
        # Directories are made below the root only: a missing root (an unmounted volume) must
        # fail, not be recreated on the local disk by the first write.
        self._require_root()
        return _FileWriter(self._path(key))

    def open_reader(self, key: str, version_id: str | None = None) -> BinaryIO:
        # A directory keeps one version of a file: a version id (from a manifest copied from a
        # versioned bucket) names nothing here, and the manifest's SHA-256 still guards the read.
        path = self._path(key)
        try:
            return path.open("rb")
        except FileNotFoundError:
            self._require_root()
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
        try:
            return self._path(key).is_file()
        except OSError as exc:  # a name too long for the filesystem, say
            raise _os_error("reading", self._path(key), exc) from None

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
        self._require_root()
        base = self.root / prefix if prefix else self.root
        try:
            if not base.is_dir():
                return
        except OSError as exc:  # a name too long for the filesystem, say
            raise _os_error("listing", base, exc) from None
        for directory, _subdirs, files in os.walk(base):
            for filename in files:
                if filename.startswith("."):
                    continue  # temporary files of writes in progress
                full = Path(directory) / filename
                yield full.relative_to(self.root).as_posix()

    def sweep_abandoned_writes(self) -> list[str]:
        removed = []
        if not self.root.is_dir():
            return removed
        for directory, _subdirs, files in os.walk(self.root):
            for filename in files:
                path = Path(directory) / filename
                if _is_abandoned(path):
                    try:
                        path.unlink()
                    except OSError:
                        continue  # gone already, or not ours to remove: the next sweep sees
                    removed.append(f"{path.relative_to(self.root)}, left by a killed write")
        return removed


def _is_abandoned(path: Path) -> bool:
    """A temporary file no live writer holds."""
    name = path.name
    if not name.startswith("."):
        return False
    if name.endswith(PARTIAL_SUFFIX):
        return _lock_is_free(path)
    if name.endswith(NURSERY_SUFFIX) or name.startswith(CHECK_PREFIX):
        try:
            return time.time() - path.stat().st_mtime > UNLOCKED_GRACE_SECONDS
        except OSError:
            return False
    return False


def _lock_if_supported(fd: int) -> None:
    # A mount without locking (NFS 'nolock', some FUSE filesystems) cannot hold one: the write
    # goes on unlocked, and the sweep, which cannot lock there either, leaves it alone.
    with suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_EX)


def _lock_is_free(path: Path) -> bool:
    """True only when the lock could be taken: any doubt (no locking on this mount, NFS's
    emulation refusing) counts as a live writer."""
    try:
        fd = os.open(path, os.O_RDWR)  # NFS emulates flock with POSIX locks: those need write
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True
