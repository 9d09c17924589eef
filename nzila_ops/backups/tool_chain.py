"""A backup's compression and encryption in child processes: the ``zstd`` and ``age`` CLIs.

In this process pyrage holds the GIL for a whole ``encrypt_io`` call and calls back into
Python for every 8 KiB, so encryption, compression, hashing and reading the dump take turns on
one core. As children, ``zstd`` and ``age`` each get a core of their own and the data flows
between them through kernel pipes: this process only feeds the dump in (counting its bytes,
from a thread) and reads the age file back (hashing and storing it), the same work as the
native ``pg_dump | zstd | age | tee FILE | sha256sum`` it is measured against (bench/).

The output is what the CLIs write: one zstd frame with its checksum, a standard age v1 file,
the formats of the in-process pipeline, read by the same restore and by ``age -d | zstd -d``.
The recipients are public keys, so they may be in argv (principle 7 is about secrets). Where
a CLI is not installed the pipeline does that step in this process instead (backup_tools).
"""

from __future__ import annotations

import errno
import io
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import IO, BinaryIO

from nzila_ops.backups.compression import ZSTD_JOB_SIZE, Compressor, zstd_cli, zstd_threads
from nzila_ops.backups.streams import FETCH_CHUNK_SIZE, HashingWriter, Writable, enlarge_pipe
from nzila_ops.backups.timing import StageTimes, wait_counting_cpu
from nzila_ops.backups.tool_errors import tool_error
from nzila_ops.exceptions import OpsError

logger = logging.getLogger("nzila_ops.backups")

#: Bytes per splice() of the dump into the first child: its pipe's size (enlarge_pipe).
SPLICE_SIZE = 1 << 20


@dataclass(frozen=True)
class Tool:
    """One child of the chain: the stage it does ("compress", "encrypt") and its argv."""

    stage: str
    argv: tuple[str, ...]

    @property
    def name(self) -> str:
        return os.path.basename(self.argv[0])


def zstd_tool(level: int, threads: int) -> Tool | None:
    """``zstd`` at ``level`` with ``threads`` workers (as Codec.compressor takes them), or None
    when the CLI is not installed."""
    path = zstd_cli()
    if path is None:
        return None
    if level < 0:
        argv = [path, f"--fast={-level}"]
    elif level > 19:
        argv = [path, "--ultra", f"-{level}"]
    else:
        argv = [path, f"-{level or 3}"]  # 0 is zstd's default level, 3, in python-zstandard too
    threads = zstd_threads(threads)
    if threads <= 1:
        # The child is already beside this process and pg_dump: one worker thread (-T1)
        # would only add a thread of I/O, for ~20 % more CPU and 3 MB more memory.
        argv.append("--single-thread")
    else:
        # -B: 1 MiB jobs keep zstd at ~10 MB instead of ~40 MB, for a ratio within 0.2 %.
        argv += [f"-T{threads}", f"-B{ZSTD_JOB_SIZE}"]
    return Tool("compress", (*argv, "-q", "-c", "--no-progress"))


def age_tool(recipients: Sequence[str]) -> Tool | None:
    """``age`` encrypting to ``recipients`` (public keys), or None when it is not installed."""
    path = shutil.which("age")
    if path is None:
        return None
    argv = [path]
    for recipient in recipients:
        argv += ["-r", recipient.strip()]
    return Tool("encrypt", tuple(argv))


def backup_tools(
    compression: str, level: int, threads: int, recipients: Sequence[str]
) -> list[Tool]:
    """The children a backup runs through, empty to do everything in this process.

    Encrypting needs ``age``: without it the whole pipeline stays in this process, as before
    the children (pyrage; the same format). zstd runs as a child when its CLI is there; gzip
    always compresses in this process (zlib releases the GIL)."""
    encrypt = age_tool(recipients) if recipients else None
    if recipients and encrypt is None:
        logger.warning("the age CLI is not installed: encrypting in this process (slower)")
        return []
    compress = zstd_tool(level, threads) if compression == "zstd" else None
    return [tool for tool in (compress, encrypt) if tool is not None]


class _Feeder(threading.Thread):
    """Copies the dump (compressed first when ``compressor`` is given) into the first child."""

    def __init__(
        self, source: BinaryIO, stdin: IO[bytes], compressor: Compressor | None, times: StageTimes
    ) -> None:
        super().__init__(name="nzila-backup-feeder", daemon=True)
        self.source, self.stdin, self.compressor, self.times = source, stdin, compressor, times
        self.count = 0
        self.error: BaseException | None = None
        self.broken_pipe = False
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            if self.compressor is None and self._splice():
                return
            self._copy()
        except BrokenPipeError:
            self.broken_pipe = True  # the child is gone: its exit status says why
        except BaseException as exc:  # reading the dump failed: the caller re-raises it
            self.error = exc
        finally:
            with suppress(OSError):
                self.stdin.close()

    def _splice(self) -> bool:
        """Move the dump from its pipe into the child's in the kernel, without copying it
        through this process (Linux); False, having moved nothing, where that cannot be done.

        Only an unbuffered source (pg_dump's stdout): a buffered one may hold data already."""
        splice = getattr(os, "splice", None)
        if splice is None or not isinstance(self.source, io.FileIO):
            return False
        # Our own copy of the descriptor: after a failure the engine may close its file while
        # this thread still reads, and the number must not name another file meanwhile.
        source, target = os.dup(self.source.fileno()), self.stdin.fileno()
        try:
            while not self.stopped.is_set():
                started = time.perf_counter()
                try:
                    moved = splice(source, target, SPLICE_SIZE)
                except OSError as exc:
                    if exc.errno == errno.EINVAL and self.count == 0:
                        return False  # neither end is a pipe, or a file system without splice
                    raise
                finally:
                    self.times.since("dump", started)
                if not moved:
                    break
                self.count += moved
        finally:
            os.close(source)
        return True

    def _copy(self) -> None:
        read = getattr(self.source, "read1", self.source.read)
        while not self.stopped.is_set():
            started = time.perf_counter()
            chunk = read(FETCH_CHUNK_SIZE)
            self.times.since("dump", started)
            if not chunk:
                if self.compressor is not None:
                    self._write(self.compressor.flush())
                break
            self.count += len(chunk)
            if self.compressor is not None:
                started = time.perf_counter()
                chunk = self.compressor.compress(chunk)
                self.times.since("compress", started)
            self._write(chunk)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:  # an unbuffered pipe may take part of a write
            written = self.stdin.write(view)
            view = view[written or 0 :]


class _Children:
    """The started chain: each child's stdout is the next one's stdin."""

    def __init__(self, tools: Sequence[Tool]) -> None:
        self.tools = list(tools)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.stderrs: list[IO[bytes]] = []
        try:
            stdin: int | IO[bytes] = subprocess.PIPE
            for tool in self.tools:
                stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
                self.stderrs.append(stderr)
                process = subprocess.Popen(
                    tool.argv, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr, bufsize=0
                )
                if self.processes:
                    stdin.close()  # type: ignore[union-attr]  # the next child holds it now
                self.processes.append(process)
                enlarge_pipe(process.stdout)
                stdin = process.stdout  # type: ignore[assignment]
        except BaseException as exc:
            self.stop()
            self.close()
            if isinstance(exc, OSError):
                name = self.tools[len(self.processes)].name
                raise OpsError(f"cannot start {name}: {exc.strerror or exc}") from None
            raise
        enlarge_pipe(self.processes[0].stdin)

    @property
    def stdin(self) -> IO[bytes]:
        return self.processes[0].stdin  # type: ignore[return-value]

    @property
    def stdout(self) -> IO[bytes]:
        return self.processes[-1].stdout  # type: ignore[return-value]

    def wait(self, times: StageTimes) -> None:
        """Wait for every child, adding its CPU time to ``times`` under its stage."""
        for tool, process in zip(self.tools, self.processes, strict=False):
            if process.returncode is None:
                wait_counting_cpu(process, times, tool.stage)

    def stop(self) -> None:
        for process in self.processes:
            with suppress(OSError):
                process.kill()
        for process in self.processes:
            process.wait()

    def close(self, feeding: bool = False) -> None:
        """Close the pipes and stderr files; ``feeding``: but not the first child's stdin,
        which a feeder still running closes itself (closed here, its number could be reused
        by another file while the feeder writes to it)."""
        for process in self.processes:
            for stream in (process.stdin, process.stdout):
                if stream is None or (feeding and stream is self.stdin):
                    continue
                with suppress(Exception):
                    stream.close()
        for stderr in self.stderrs:
            stderr.close()

    def failure(self) -> str | None:
        """One line naming the child that failed first, or None if all succeeded.

        A child whose reader died is killed by SIGPIPE: that is a consequence, so another
        failed child is named first."""
        failed = [
            (tool, process, stderr)
            for tool, process, stderr in zip(self.tools, self.processes, self.stderrs, strict=True)
            if process.returncode != 0
        ]
        if not failed:
            return None
        causes = [entry for entry in failed if entry[1].returncode != -signal.SIGPIPE]
        tool, process, stderr = (causes or failed)[0]
        code = process.returncode or 0
        stderr.seek(0)
        if code < 0 and not stderr.read().strip():
            why = f"killed by signal {-code} ({signal.Signals(-code).name})"
        else:
            why = tool_error(stderr, code, tool.name)
        what = {"compress": "compression", "encrypt": "encryption"}.get(tool.stage, tool.stage)
        return f"the {tool.name} {what} process failed: {why}"


def stream_through_children(
    source: BinaryIO,
    sink: Writable,
    tools: Sequence[Tool],
    compressor: Compressor | None,
    on_raw_bytes: Callable[[int], None],
    times: StageTimes,
) -> tuple[int, HashingWriter]:
    """Feed ``source`` through the ``tools`` chain into ``sink``, hashing what is stored.

    ``compressor``: compress in this process before the first child (no zstd child). Returns
    the raw size read and the HashingWriter (stored size and SHA-256). Raises OpsError naming
    the child that failed, the source's own exception, or whatever ``sink`` raises; in every
    case the children have been waited for."""
    children = _Children(tools)
    feeder = _Feeder(source, children.stdin, compressor, times)
    hashing = HashingWriter(sink, times)
    try:
        feeder.start()
        read = children.stdout.read
        while True:
            started = time.perf_counter()
            chunk = read(FETCH_CHUNK_SIZE)
            times.since("dump_wait", started)
            if not chunk:
                break
            hashing.write(chunk)
            on_raw_bytes(feeder.count)
        children.wait(times)
        failure = children.failure()
        if failure is None:
            feeder.join()
        # Else not joined: it may be blocked reading the dump (pg_dump waiting for a lock),
        # which the engine stops when this raises; its next write then fails.
    except BaseException:
        feeder.stopped.set()
        children.stop()  # the feeder then fails its next write and stops
        children.close(feeding=feeder.is_alive())  # not joined either, for the same reason
        raise
    children.close(feeding=feeder.is_alive())
    if feeder.error is not None:
        raise feeder.error
    if failure is not None:
        raise OpsError(failure)
    if feeder.broken_pipe:
        raise OpsError(f"the {tools[0].name} process stopped reading the dump")
    return feeder.count, hashing
