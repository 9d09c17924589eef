"""dump stream → compression → encryption → SHA-256 → storage, in constant memory."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

import pyrage
from pyrage import x25519

from nzila_ops.backups.compression import get_codec
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
from nzila_ops.backups.timing import StageTimes
from nzila_ops.backups.tool_chain import backup_tools, stream_through_children


@dataclass(frozen=True)
class StreamResult:
    raw_size: int
    stored_size: int
    sha256: str
    #: Busy seconds per stage: dump (pg_dump's side, overlapping the others), dump_wait (this
    #: process waiting for the dump, or for the last child process), compress, encrypt (only
    #: when encrypted; a child's CPU seconds when it runs as one, beside the rest), hash, upload.
    stage_seconds: dict[str, float] = field(default_factory=dict)


class _Elapsed:
    """Wraps a reader or writer that pyrage calls back, adding up the time spent in it, so
    that what is left of the ``encrypt_io`` call is encryption itself."""

    def __init__(self, target: TrappedReader | TrappedWriter) -> None:
        self._target = target
        self.seconds = 0.0

    def read(self, size: int = -1) -> bytes:
        started = time.perf_counter()
        try:
            return self._target.read(size)  # type: ignore[union-attr]
        finally:
            self.seconds += time.perf_counter() - started

    def write(self, data: bytes) -> int:
        started = time.perf_counter()
        try:
            return self._target.write(data)  # type: ignore[union-attr]
        finally:
            self.seconds += time.perf_counter() - started

    def flush(self) -> None:
        pass


def stream_backup(
    source: BinaryIO,
    sink: Writable,
    compression: str,
    level: int,
    threads: int,
    recipients: list[x25519.Recipient],
    on_raw_bytes: Callable[[int], None] = lambda count: None,
) -> StreamResult:
    """Compress ``source`` with ``compression`` at ``level`` (and, with recipients,
    age-encrypt it) into ``sink``.

    Where the zstd and age CLIs are there, those steps run in child processes
    (tool_chain.backup_tools decides which); otherwise in this process, the same format.
    Returns the raw size read, the size and SHA-256 of exactly the bytes written to ``sink``,
    and the seconds spent in each stage.
    """
    times = StageTimes()
    tools = backup_tools(compression, level, threads, [str(r) for r in recipients])
    compressor = (
        None
        if any(tool.stage == "compress" for tool in tools)
        else get_codec(compression).compressor(level, threads)
    )
    if tools:
        raw_size, stored = stream_through_children(
            source, sink, tools, compressor, on_raw_bytes, times
        )
        return StreamResult(raw_size, stored.count, stored.hexdigest(), times.rounded())
    assert compressor is not None  # no child compresses, so this process does
    prefetch = PrefetchReader(source, times=times)
    try:
        counted = CountingReader(prefetch, on_raw_bytes)
        compressed = CompressingReader(counted, compressor, times)
        hashing = HashingWriter(sink, times)
        if recipients:
            trap = Trap()
            reader = _Elapsed(TrappedReader(compressed, trap))
            writer = _Elapsed(TrappedWriter(hashing, trap))
            started = time.perf_counter()
            try:
                pyrage.encrypt_io(reader, writer, recipients)
            except BaseException:
                if trap.error is not None:
                    raise trap.error from None
                raise
            times.since("encrypt", started + reader.seconds + writer.seconds)
        else:
            while chunk := compressed.read(CHUNK_SIZE):
                hashing.write(chunk)
        return StreamResult(counted.count, hashing.count, hashing.hexdigest(), times.rounded())
    finally:
        prefetch.close()
