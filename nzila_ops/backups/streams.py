"""File-like building blocks for the streaming pipeline.

Each holds at most a few MiB whatever the size of the backup (principle 3): data moves in chunks
from the dump process, through compression and encryption, to the storage writer.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import IO, BinaryIO, Protocol

from nzila_ops.backups.compression import Compressor, Decompressor
from nzila_ops.backups.timing import StageTimes

CHUNK_SIZE = 1 << 20
#: Reading a backup back (restore, drill, verify_backup): bytes per read from storage and from
#: the decryption child, and per decompressed piece handed on. A quarter of CHUNK_SIZE keeps
#: the restore's process tree about 7 MB smaller, at the same speed: zstd and age are fast
#: here, the pipes between the processes stay at CHUNK_SIZE.
FETCH_CHUNK_SIZE = 1 << 18

try:
    import fcntl
except ImportError:  # not POSIX: pipes keep their default size
    fcntl = None  # type: ignore[assignment]


def enlarge_pipe(stream: IO[bytes] | None, size: int = CHUNK_SIZE) -> None:
    """Grow a pipe from Linux's 64 KiB to ``size`` (best effort), so the process at the other
    end is not paused, and this one woken, every 64 KiB."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if stream is not None and setpipe is not None:
        with suppress(OSError):
            fcntl.fcntl(stream.fileno(), setpipe, size)


class Writable(Protocol):
    def write(self, data: bytes, /) -> int | None: ...


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class PrefetchReader:
    """Reads ``source`` in a background thread into a bounded queue.

    It keeps the dump process (pg_dump) writing while this process compresses and encrypts, so
    the two overlap on separate cores instead of taking turns around a 64 KiB pipe buffer.
    At most ``depth`` chunks are held. With ``times``, the pump's reads add to stage "dump"
    (the dump's busy time, beside the consumer's) and the consumer's waits for a chunk to
    "dump_wait".
    """

    def __init__(
        self,
        source: BinaryIO,
        chunk_size: int = CHUNK_SIZE,
        depth: int = 3,
        times: StageTimes | None = None,
    ) -> None:
        self._source = source
        self._times = times or StageTimes()
        self._chunk_size = chunk_size
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=depth)
        self._buffer = memoryview(b"")
        self._eof = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="nzila-prefetch", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            read = getattr(self._source, "read1", self._source.read)
            while not self._stopped.is_set():
                started = time.perf_counter()
                chunk = read(self._chunk_size)
                self._times.since("dump", started)
                if not chunk:
                    break
                self._put(chunk)
            self._put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)

    def _put(self, item: bytes | BaseException | None) -> None:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _next_chunk(self) -> bool:
        started = time.perf_counter()
        item = self._queue.get()
        self._times.since("dump_wait", started)
        if item is None:
            self._eof = True
            return False
        if isinstance(item, BaseException):
            self._eof = True
            raise item
        self._buffer = memoryview(item)
        return True

    def read(self, size: int = -1) -> bytes:
        if not self._buffer and (self._eof or not self._next_chunk()):
            return b""
        if size < 0 or size >= len(self._buffer):
            data, self._buffer = bytes(self._buffer), memoryview(b"")
            return data
        data, self._buffer = bytes(self._buffer[:size]), self._buffer[size:]
        return data

    def close(self) -> None:
        """Stop the pump thread (used when the consumer fails early)."""
        self._stopped.set()
        self._thread.join(timeout=5)


class CountingReader:
    """Passes reads through, counting bytes and reporting them to ``on_bytes``."""

    def __init__(self, source: BinaryIO | PrefetchReader, on_bytes: Callable[[int], None]) -> None:
        self._source = source
        self._on_bytes = on_bytes
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self.count += len(data)
        if data:
            self._on_bytes(self.count)
        return data


class CompressingReader:
    """A readable stream of the compressed form of ``source``.

    Reads a chunk of input at a time; serves output in whatever sizes the consumer asks for
    (pyrage asks for 8 KiB at a time).
    """

    def __init__(
        self, source: CountingReader, compressor: Compressor, times: StageTimes | None = None
    ) -> None:
        self._source = source
        self._compressor = compressor
        self._times = times or StageTimes()
        self._pending = bytearray()
        self._offset = 0
        self._finished = False

    def _fill(self) -> None:
        while not self._finished and len(self._pending) - self._offset == 0:
            self._pending = bytearray()
            self._offset = 0
            chunk = self._source.read(CHUNK_SIZE)
            started = time.perf_counter()
            if chunk:
                self._pending += self._compressor.compress(chunk)
            else:
                self._pending += self._compressor.flush()
                self._finished = True
            self._times.since("compress", started)

    def read(self, size: int = -1) -> bytes:
        if len(self._pending) - self._offset == 0:
            self._fill()
        available = len(self._pending) - self._offset
        if size < 0 or size > available:
            size = available
        data = bytes(self._pending[self._offset : self._offset + size])
        self._offset += size
        return data


class HashingWriter:
    """Forwards writes to ``sink`` while computing SHA-256 and size of exactly what was stored.
    With ``times``: stages "hash" and "upload" (the sink's writes)."""

    def __init__(self, sink: Writable, times: StageTimes | None = None) -> None:
        self._sink = sink
        self._hash = hashlib.sha256()
        self._times = times or StageTimes()
        self.count = 0

    def write(self, data: bytes) -> int:
        started = time.perf_counter()
        self._hash.update(data)
        hashed = time.perf_counter()
        self._times.add("hash", hashed - started)
        self.count += len(data)
        self._sink.write(data)
        self._times.since("upload", hashed)
        return len(data)

    def flush(self) -> None:
        pass

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class HashingReader:
    """Passes reads through while computing SHA-256 and size of exactly what was read.
    With ``times``: stages "download" (the source's reads) and "hash"."""

    def __init__(self, source: Readable, times: StageTimes | None = None) -> None:
        self._source = source
        self._hash = hashlib.sha256()
        self._times = times or StageTimes()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        started = time.perf_counter()
        data = self._source.read(size)
        read = time.perf_counter()
        self._times.add("download", read - started)
        self._hash.update(data)
        self._times.since("hash", read)
        self.count += len(data)
        return data

    def drain(self) -> None:
        """Read to the end, so the hash covers the whole object even after a failure."""
        while self.read(CHUNK_SIZE):
            pass

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class DecompressingWriter:
    """Decompresses what is written to it into ``sink``, in pieces of at most ``piece_size``
    bytes whatever the compression ratio (1 MiB of a repetitive table can stand for 100 MiB);
    ``finished()`` checks the stream ended properly (a truncated zstd or gzip stream
    decompresses without error until then). With ``times``: stages "decompress" and "write"
    (the sink's writes)."""

    def __init__(
        self,
        decompressor: Decompressor,
        sink: Writable,
        piece_size: int = FETCH_CHUNK_SIZE,
        times: StageTimes | None = None,
    ) -> None:
        self._decompressor = decompressor
        self._sink = sink
        self._piece_size = piece_size
        self._times = times or StageTimes()
        self.count = 0

    def write(self, data: bytes) -> int:
        times = self._times
        started = time.perf_counter()
        output = self._decompressor.decompress(data, self._piece_size)
        while True:
            times.since("decompress", started)
            if output:
                self.count += len(output)
                started = time.perf_counter()
                self._sink.write(output)
                times.since("write", started)
            if self._decompressor.needs_input:
                return len(data)
            started = time.perf_counter()
            output = self._decompressor.decompress(b"", self._piece_size)

    def flush(self) -> None:
        pass

    def finished(self) -> bool:
        return bool(getattr(self._decompressor, "eof", False))


class Trap:
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


class TrappedReader:
    def __init__(self, source: Readable, trap: Trap) -> None:
        self._source, self._trap = source, trap

    def read(self, size: int = -1) -> bytes:
        return self._trap.call(self._source.read, size)  # type: ignore[return-value]


class TrappedWriter:
    def __init__(self, sink: Writable, trap: Trap) -> None:
        self._sink, self._trap = sink, trap

    def write(self, data: bytes) -> int:
        return self._trap.call(self._sink.write, data)  # type: ignore[return-value]

    def flush(self) -> None:
        pass
