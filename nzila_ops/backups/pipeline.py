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
    Trap,
    TrappedReader,
    TrappedWriter,
    Writable,
)


@dataclass(frozen=True)
class StreamResult:
    raw_size: int
    stored_size: int
    sha256: str


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
            trap = Trap()
            try:
                pyrage.encrypt_io(
                    TrappedReader(compressed, trap), TrappedWriter(hashing, trap), recipients
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
