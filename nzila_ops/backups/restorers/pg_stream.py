"""A PostgreSQL restore that creates the schema while the backup is still arriving.

``pg_restore -j`` needs the whole dump in a seekable file, so the plain way (and the native
``age -d | zstd -d > FILE && pg_restore -j2 FILE``) fetches everything before the database
sees a byte. The custom format holds its table of contents first, and the schema (the
``pre-data`` section: tables, types, functions) is in it: a first ``pg_restore
--section=pre-data`` reads the dump file as it grows, from a thread (``tail -f`` style, so the
fetch never waits for it), and creates the tables in the scratch database while the rest is
downloaded, decrypted and decompressed. Once the whole object has been verified,
``pg_restore -j RESTORE_JOBS --section=data --section=post-data`` loads the rows and builds the
indexes from the complete file, as before.

Measured on 2 cores shared with other work (bench/bench_restore.py, 300 MB, issue 16): the
schema takes 0.4-0.9 s (1.4-3 s when the machine is loaded: one commit per object), about as
long as the fetch, whose decompression keeps one core busy; the schema uses the other. Against
the plain order, fetch + restore was 7.3 s against 6.1 s (medians of 5 interleaved pairs, means
7.4 against 7.7): within the noise of a loaded machine, so the gain, at most the schema's time,
is still to be confirmed on a quiet one. It costs about 8 MB of peak memory (this pg_restore
beside the age child). Streaming the data section as well (one COPY after another from the
pipe) clearly lost: the parallel COPYs of ``-j2`` are worth more than overlapping the fetch,
which is the smaller part of a restore. ``PostgreSQLRestorer.start_loading`` returning the
base ``Loading`` is the plain order again.

Only the scratch database is touched before the verification (principle 2): a corrupt or
truncated object is found by the fetch as before, and the scratch database is dropped. The
schema pg_restore reads is the table of contents, before any row: whatever it made of a corrupt
object, the fetch runs to its end, so a corrupt backup is reported as corrupt.
"""

from __future__ import annotations

import os
import select
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING

from nzila_ops.backups.engines.pgclient import tool_error
from nzila_ops.backups.restorers.base import Loading
from nzila_ops.backups.streams import FETCH_CHUNK_SIZE, enlarge_pipe
from nzila_ops.exceptions import RestoreError

if TYPE_CHECKING:
    import psycopg

    from nzila_ops.backups.restorers.postgresql import PostgreSQLRestorer


class _Follower(threading.Thread):
    """Copies the dump file into pg_restore's stdin as it grows, until pg_restore stops
    reading (it needs only the table of contents), the fetch has ended, or ``end(stop=True)``.

    The file's size says how far it has grown, looked at every POLL_SECONDS: whoever writes it
    (the fetch's child processes, fetch_children.py, or this process for a gzip backup), the
    follower needs no word from them. What this process's file object still buffers comes at
    its next write or when finish() closes it, before ``end()``.

    Its writes never block for long: a pg_restore that stopped reading without exiting (or a
    child of it holding the pipe) must not keep the restore from cleaning up."""

    POLL_SECONDS = 0.02

    def __init__(self, raw: Path, stdin: IO[bytes]) -> None:
        super().__init__(name="nzila-pre-data", daemon=True)
        self.stdin = stdin
        self.fd = os.open(raw, os.O_RDONLY)
        self.ended = threading.Event()  # no more bytes will come
        self.stopped = False
        #: When pg_restore closed its end: about when the schema was done.
        self.reader_gone_at: float | None = None

    def end(self, stop: bool = False) -> None:
        self.stopped = self.stopped or stop
        self.ended.set()

    def run(self) -> None:
        pipe = self.stdin.fileno()
        offset = 0
        try:
            os.set_blocking(pipe, False)
            while True:
                ended = self.ended.is_set()  # before the size: once it is set, the size is final
                written = os.fstat(self.fd).st_size
                if self.stopped or (ended and offset >= written):
                    return  # the restore is being stopped, or all of it was fed
                if offset >= written:
                    self.ended.wait(self.POLL_SECONDS)
                    continue
                size = min(written - offset, FETCH_CHUNK_SIZE)
                data = memoryview(os.pread(self.fd, size, offset))
                while data:
                    if self.stopped:
                        return
                    select.select([], [pipe], [], 0.2)
                    try:
                        sent = os.write(pipe, data)
                    except BlockingIOError:
                        continue
                    data, offset = data[sent:], offset + sent
        except OSError:
            # pg_restore has what it needs (it exits after the schema), or died: finish()
            # tells which.
            self.reader_gone_at = time.perf_counter()
        finally:
            with suppress(OSError):
                self.stdin.close()
            os.close(self.fd)


class StreamedLoading(Loading):
    """The scratch database is created, and its schema loaded, from a thread: the fetch starts
    at once instead of waiting for ``CREATE DATABASE`` (0.1-0.2 s, every restore)."""

    def __init__(
        self, restorer: PostgreSQLRestorer, lock: psycopg.Connection, raw: Path, target: str
    ) -> None:
        super().__init__(restorer, lock, raw, target)
        self.pg = restorer
        self._resources = ExitStack()
        self.process: subprocess.Popen[bytes] | None = None
        self._follower: _Follower | None = None
        self._started = time.perf_counter()
        # close() may come while the thread still creates: it waits for it, then nothing more
        # may start. Nothing else uses the lock's connection until finish() or close().
        self._guard = threading.Lock()
        self._closing = False
        self._error: BaseException | None = None
        self._preparer = threading.Thread(target=self._prepare, name="nzila-scratch", daemon=True)
        self._preparer.start()

    def _prepare(self) -> None:
        try:
            self.pg.create(self.lock, self.target)
            with self._guard:
                if not self._closing:
                    self._start_schema()
        except BaseException as exc:  # finish() raises it in the restore's own thread
            self._error = exc

    def _start_schema(self) -> None:
        env = self._resources.enter_context(self.pg.pg_restore_environment())
        self._stderr = self._resources.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
        self.process = subprocess.Popen(
            self.pg.pg_restore_command(self.target, "--section=pre-data"),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=env,
        )
        enlarge_pipe(self.process.stdin)
        self._follower = _Follower(self.raw, self.process.stdin)  # type: ignore[arg-type]
        self._follower.start()

    def finish(self) -> None:
        self.file.close()
        self._preparer.join()
        if self._error is not None:
            raise self._error
        assert self.process is not None and self._follower is not None
        self._follower.end()
        returncode = self.process.wait()
        self._follower.join()
        ended = self._follower.reader_gone_at or time.perf_counter()
        self.stage_seconds["pre_data"] = round(ended - self._started, 3)
        if returncode != 0:
            detail = tool_error(self._stderr, returncode, "pg_restore")
            raise RestoreError(f"pg_restore failed: {detail}")
        jobs = f"--jobs={int(self.pg.config['RESTORE_JOBS'])}"
        self.pg.run_pg_restore(self.target, self.raw, jobs, "--section=data", "--section=post-data")

    def close(self) -> None:
        with self._guard:
            self._closing = True
        self._preparer.join()  # the caller drops the scratch database next, on the same lock
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self._follower is not None:
            self._follower.end(stop=True)
            self._follower.join()
        self._resources.close()
        super().close()
