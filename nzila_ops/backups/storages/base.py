"""The contract every backup storage implements.

A storage holds objects under keys ("default/default-20261127T101500Z-hourly-1a2b.pgdump.zst.age")
and small JSON manifests beside them. Objects are written through an ``ObjectWriter``: nothing is
visible under the key until ``commit()``, and ``abort()`` leaves nothing behind, so a crash or a
failure mid-upload never produces an object that looks complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO


class ObjectWriter:
    """A stream being written to one key. Use ``commit()`` or ``abort()`` exactly once."""

    def write(self, data: bytes) -> int:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class BackupStorage:
    """Base class: subclasses implement every method below."""

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

    def open_reader(self, key: str) -> BinaryIO:
        """A readable binary stream of the object; close it when done."""
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
        """Delete the key; deleting a missing key is not an error."""
        raise NotImplementedError

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
