"""Reading a stream ahead, in a thread of its own, a bounded number of chunks at a time.

A copy's download must not stop while its main thread hashes a chunk or waits for an upload
slot of the target's writer (boto3's own streaming copy, ``aws s3 cp``, reads ahead of its
uploads too; bench/bench_copy.py compares the two). At most
``chunks`` chunks wait in the queue, plus the one the thread is reading and the one the caller
holds: memory stays constant whatever the object's size.
"""

from __future__ import annotations

import queue
import threading
from typing import IO

from nzila_ops.exceptions import StorageError

#: How long ``read`` waits for a chunk before it looks whether the reading thread still lives.
#: A dead thread (one that could not even hand over its failure) must fail the read, not hang it.
ALIVE_CHECK_SECONDS = 1.0
#: How long ``close`` waits for the reading thread to leave a read in progress before it closes
#: the stream under it (the thread then fails and ends on its own: it is a daemon).
CLOSE_WAIT_SECONDS = 5.0


class _Failure:
    """What the reading thread hands over instead of a chunk when its read raised."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class ReadAhead:
    """``reader``'s bytes, ``chunk_size`` at a time, read ahead by a thread of its own.

    ``read()`` returns the next chunk (``b""`` at the end) or raises what the reading thread's
    read raised, in the caller's thread. ``close()`` stops the thread and closes ``reader``;
    use it exactly once, whatever happened (a ``with`` block does)."""

    def __init__(self, reader: IO[bytes], chunk_size: int, chunks: int) -> None:
        self._reader = reader
        self._chunk_size = chunk_size
        self._queue: queue.Queue[bytes | _Failure] = queue.Queue(maxsize=chunks)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._run, name="nzila-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        item: bytes | _Failure
        while not self._stop.is_set():
            try:
                item = self._reader.read(self._chunk_size)
            except BaseException as exc:  # any failure, even a bug: the caller raises it
                item = _Failure(exc)
            self._queue.put(item)
            if not isinstance(item, bytes) or not item:
                return

    def read(self) -> bytes:
        if self._finished:
            return b""
        while True:
            try:
                item = self._queue.get(timeout=ALIVE_CHECK_SECONDS)
                break
            except queue.Empty:
                # A thread that ended has put its last item already: none is coming.
                if not self._thread.is_alive() and self._queue.empty():
                    self._finished = True
                    raise StorageError(
                        "the download stopped: its reading thread ended without a word"
                    ) from None
        if isinstance(item, _Failure):
            self._finished = True
            raise item.exc
        if not item:
            self._finished = True
        return item

    def close(self) -> None:
        self._stop.set()
        # Room in the queue, so a thread waiting to put a chunk goes on, sees the stop, ends.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(CLOSE_WAIT_SECONDS)
        self._reader.close()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
