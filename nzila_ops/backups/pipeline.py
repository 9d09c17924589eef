"""dump stream → compression → encryption → SHA-256 → storage, in constant memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import pyrage
from pyrage import x25519

from nzila_ops.backups.compression import Compressor
from nzila_ops.backups.streams import (
    CHUNK_SIZE,
    CompressingReader,
    CountingReader,
    HashingWriter,
    PrefetchReader,
    Writable,
)


@dataclass(frozen=True)
class StreamResult:
    raw_size: int
    stored_size: int
    sha256: str


class _Trap:
    """Remembers the first exception raised by a wrapped reader or writer.

    pyrage calls our Python objects from Rust and reports their failures as its own generic
    errors; the original one (disk full, storage down, dump failed) is what the operator needs.
    """

    def __init__(self) -> None:
        self.error: BaseException | None = None

    def call(self, function: Callable, *args: object) -> object:
        try:
            return function(*args)
        except BaseException as exc:
            if self.error is None:
                self.error = exc
            raise


class _TrappedReader:
    def __init__(self, source: CompressingReader, trap: _Trap) -> None:
        self._source, self._trap = source, trap

    def read(self, size: int = -1) -> bytes:
        return self._trap.call(self._source.read, size)  # type: ignore[return-value]


class _TrappedWriter:
    def __init__(self, sink: HashingWriter, trap: _Trap) -> None:
        self._sink, self._trap = sink, trap

    def write(self, data: bytes) -> int:
        return self._trap.call(self._sink.write, data)  # type: ignore[return-value]

    def flush(self) -> None:
        pass


def stream_backup(
    source: BinaryIO,
    sink: Writable,
    compressor: Compressor,
    recipients: list[x25519.Recipient],
    on_raw_bytes: Callable[[int], None] = lambda count: None,
) -> StreamResult:
    """Compress (and, with recipients, age-encrypt) ``source`` into ``sink``.

    Returns the raw size read, and the size and SHA-256 of exactly the bytes written to ``sink``.
    """
    prefetch = PrefetchReader(source)
    try:
        counted = CountingReader(prefetch, on_raw_bytes)
        compressed = CompressingReader(counted, compressor)
        hashing = HashingWriter(sink)
        if recipients:
            trap = _Trap()
            try:
                pyrage.encrypt_io(
                    _TrappedReader(compressed, trap), _TrappedWriter(hashing, trap), recipients
                )
            except BaseException:
                if trap.error is not None:
                    raise trap.error from None
                raise
        else:
            while chunk := compressed.read(CHUNK_SIZE):
                hashing.write(chunk)
        return StreamResult(counted.count, hashing.count, hashing.hexdigest())
    finally:
        prefetch.close()
