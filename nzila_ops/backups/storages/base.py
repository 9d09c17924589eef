"""The contract every backup storage implements.

A storage holds objects under keys ("default/default-20261127T101500Z-hourly-1a2b.pgdump.zst.age")
and small JSON manifests beside them. Objects are written through an ``ObjectWriter``: nothing is
visible under the key until ``commit()``, and ``abort()`` leaves nothing behind, so a crash or a
failure mid-upload never produces an object that looks complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import BinaryIO


class ObjectWriter:
    """A stream being written to one key. Use ``commit()`` or ``abort()`` exactly once."""

    #: After ``commit()``, the version the storage gave the object (S3 with versioning), or
    #: None. Recorded in the manifest so that a restore reads exactly that version even after
    #: the key was overwritten or delete-marked.
    version_id: str | None = None
    #: Writes of exactly this many bytes are taken as they are, without being copied (an S3
    #: part); None: every size costs the same. A copy reads its source in pieces of this size.
    preferred_write_size: int | None = None

    def write(self, data: bytes) -> int:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class BackupStorage:
    """Base class: subclasses implement every method below, except the object-lock ones
    (``lock_until``, ``extend_lock``, ``check_immutability``) which only storages that can lock
    objects override: here they mean "no lock"."""

    #: "GOVERNANCE" or "COMPLIANCE" when every object written is locked (S3 Object Lock).
    object_lock_mode: str | None = None
    #: How far past the date retention keeps an object its lock is set (object lock only).
    lock_margin: timedelta = timedelta(0)

    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> str:
        """Where this storage points, for operators (never contains credentials)."""
        raise NotImplementedError

    def check(self) -> None:
        """Raise StorageError unless the storage is reachable and writable now."""
        raise NotImplementedError

    def open_writer(self, key: str) -> ObjectWriter:
        raise NotImplementedError

    def open_reader(self, key: str, version_id: str | None = None) -> BinaryIO:
        """A readable binary stream of the object (of that version, where the storage keeps
        versions; others ignore ``version_id``); close it when done."""
        raise NotImplementedError

    def write_bytes(self, key: str, data: bytes) -> None:
        """Store a small object (a manifest) atomically."""
        raise NotImplementedError

    def read_bytes(self, key: str) -> bytes:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def size(self, key: str) -> int:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Delete the key; deleting a missing key is not an error. Raises ObjectLocked (naming
        the date) when an object lock forbids it."""
        raise NotImplementedError

    def lock_until(self, key: str, version_id: str | None = None) -> datetime | None:
        """The date until which the object cannot be deleted or changed; None: not locked."""
        return None

    def extend_lock(self, key: str, until: datetime, version_id: str | None = None) -> None:
        """Lock the object until at least ``until``; a lock is only ever lengthened."""

    def check_immutability(self) -> None:
        """Raise StorageError when the storage is configured to lock objects and cannot (a
        bucket without Object Lock). Network I/O: called by ``verify_backup``, not at start."""

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix`` (relative to the storage's root), in no particular order."""
        raise NotImplementedError

    def sweep_abandoned_writes(self) -> list[str]:
        """Remove what writers that died mid-write left behind (a partial file, an incomplete
        multipart upload), never touching a write still in progress. Returns a description of
        each thing removed. Called by every backup and by retention."""
        raise NotImplementedError


def check_key(key: str) -> str:
    """Refuse keys that could escape the storage root; storages call this on every key."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        from nzila_ops.exceptions import InvalidArgument

        raise InvalidArgument(f"invalid storage key {key!r}")
    return key
