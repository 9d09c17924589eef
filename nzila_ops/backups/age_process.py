"""age decryption in a child process, so that it runs beside decompression.

pyrage holds the GIL for the whole of a ``decrypt_io`` call (its Rust code calls back into the
Python reader and writer), so in a thread it stalls the zstd decompression that follows it,
which otherwise runs without the GIL. In a child process decryption gets a core of its own:
this process feeds the ciphertext in from a thread (hashing it on the way) and decompresses the
plaintext it reads back. On two cores that fetches a backup in about half the time. The child is
pyrage itself, so the format and its checks are the same as in-process.

The private identities reach the child through a pipe of its own, never argv or the
environment (principle 7). Where no Python child can be started (under uWSGI ``sys.executable``
is the server's binary; a sandbox may forbid processes), decryption happens in this process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import IO

import pyrage
from pyrage import x25519

from nzila_ops.backups.streams import (
    FETCH_CHUNK_SIZE,
    HashingReader,
    Trap,
    TrappedReader,
    TrappedWriter,
    Writable,
    enlarge_pipe,
)
from nzila_ops.backups.timing import StageTimes, wait_counting_cpu
from nzila_ops.exceptions import OpsError

#: The child's exit status when pyrage rejected the stream (bad tag, truncation, bad header).
AGE_REJECTED = 3
#: What the child writes first, once pyrage is imported and the identities are read: until it
#: arrives nothing has been taken from the source, so this process can still decrypt instead.
READY = b"R"

# Run with `python -S -c`: it imports only pyrage, not nzila_ops, Django or the site module
# (whose .pth files cost 2 MB; PYTHONPATH below names every directory). argv[1] is the fd of
# the identity pipe. Large buffers: pyrage reads and writes 8 KiB at a time. Only pyrage's own
# refusals exit with AGE_REJECTED; anything else is a crash with a traceback.
_CHILD = f"""
import os, sys
import pyrage
from pyrage import x25519
with os.fdopen(int(sys.argv[1]), "rb") as keys:
    identities = [x25519.Identity.from_str(key) for key in keys.read().decode().split()]
sink = os.fdopen(1, "wb", buffering={FETCH_CHUNK_SIZE})
sink.write({READY!r})
sink.flush()
source = os.fdopen(0, "rb", buffering={FETCH_CHUNK_SIZE})
try:
    pyrage.decrypt_io(source, sink, identities)
    sink.flush()
except (pyrage.DecryptError, OSError) as exc:
    sys.stderr.write(" ".join(str(exc).split()) or type(exc).__name__)
    sys.exit({AGE_REJECTED})
"""


class AgeRejected(Exception):
    """pyrage refused the stream: an authentication tag failed, or it ended early."""


class Feeder(threading.Thread):
    """Copies the ciphertext into the child; records a failure to read the source."""

    def __init__(self, reader: HashingReader, stdin: IO[bytes]) -> None:
        super().__init__(name="nzila-age-feeder", daemon=True)
        self.reader, self.stdin = reader, stdin
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while chunk := self.reader.read(FETCH_CHUNK_SIZE):
                try:
                    self.stdin.write(chunk)
                except BrokenPipeError:
                    return  # the child is gone: it rejected the stream, or we stopped it
        except BaseException as exc:  # the storage failed: the caller re-raises it
            self.error = exc
        finally:
            with suppress(OSError):
                self.stdin.close()

    def join_after(self, failure: BaseException) -> None:
        """Wait for the feeder once the children were stopped (its next write fails): its hash
        must be complete before the caller drains the source. Unless the operator interrupted:
        a read stalled on the network may take its timeout."""
        if self.ident is not None:
            self.join(timeout=None if isinstance(failure, Exception) else 1.0)


def age_failure(returncode: int, message: str) -> Exception | None:
    """What the decryption child's exit status means: None when it succeeded, AgeRejected
    when pyrage refused the stream, else an OpsError with the last line it wrote."""
    if returncode == 0:
        return None
    if returncode == AGE_REJECTED:
        return AgeRejected(message)
    last = message.splitlines()[-1] if message else f"exit status {returncode}"
    return OpsError(f"the age decryption process failed: {last}")


class Child:
    """The decryption process, started and ready, and the file that collects its stderr."""

    def __init__(self, process: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
        self.process, self._stderr = process, stderr
        self._message: str | None = None

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()

    def close(self) -> str:
        """Close what is left open; returns what the child wrote to stderr (again, if called
        again: a caller may read it, and a cleanup close it later)."""
        if self._message is None:
            for stream in (self.process.stdin, self.process.stdout):
                with suppress(Exception):  # discarded; the feeder may be closing stdin too
                    stream.close()  # type: ignore[union-attr]
            self._stderr.seek(0)
            self._message = self._stderr.read().decode(errors="replace").strip()
            self._stderr.close()
        return self._message


def python_interpreter() -> str | None:
    """``sys.executable`` if a child can be started with it here, else None.

    Under uWSGI or another embedding server it is the server's own binary; on Windows the
    identity pipe cannot be handed to a child (no pass_fds)."""
    name = os.path.basename(sys.executable or "")
    if os.name != "posix" or not re.fullmatch(r"(python|pypy)[\d.]*", name):
        return None
    return sys.executable


def start_child(identities: list[x25519.Identity]) -> Child | None:
    """A ready decryption process, or None where none can run (nothing has been read yet)."""
    python = python_interpreter()
    if python is None:
        return None
    keys_read, keys_write = os.pipe()
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by Child.close()
    try:
        process = subprocess.Popen(
            [python, "-S", "-c", _CHILD, str(keys_read)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            pass_fds=(keys_read,),
            # The child finds pyrage wherever this process found it.
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
    except BaseException as exc:
        os.close(keys_write)
        stderr.close()
        if isinstance(exc, OSError):  # limits, a sandbox: decrypt in this process
            return None
        raise
    finally:
        os.close(keys_read)
    child = Child(process, stderr)
    try:
        with os.fdopen(keys_write, "wb") as keys:
            keys.write("\n".join(str(identity) for identity in identities).encode())
        ready = process.stdout.read(len(READY)) == READY  # type: ignore[union-attr]
    except BrokenPipeError:
        ready = False
    except BaseException:
        child.stop()
        child.close()
        raise
    if not ready:  # it could not import pyrage (a zipapp, a wrapped interpreter...)
        child.stop()
        child.close()
        return None
    enlarge_pipe(process.stdin)
    enlarge_pipe(process.stdout)
    return child


def decrypt_into(
    reader: HashingReader,
    sink: Writable,
    identities: list[x25519.Identity],
    on_bytes: Callable[[int], None] = lambda n: None,
    times: StageTimes | None = None,
) -> None:
    """Decrypt everything ``reader`` yields into ``sink``.

    Raises AgeRejected when pyrage refuses the stream, the source's own exception when reading
    it failed, and whatever ``sink`` raises. ``on_bytes`` gets the ciphertext bytes read so far,
    from the calling thread. Where no child process can run, decrypts in this process: slower,
    the same checks. ``times`` gets stage "decrypt": the child's CPU time (its own core,
    beside this process), or in this process the time spent inside pyrage."""
    times = times or StageTimes()
    child = start_child(identities)
    if child is None:
        _decrypt_here(reader, sink, identities, on_bytes, times)
    else:
        _decrypt_in_child(child, reader, sink, on_bytes, times)


def _decrypt_in_child(
    child: Child,
    reader: HashingReader,
    sink: Writable,
    on_bytes: Callable[[int], None],
    times: StageTimes,
) -> None:
    process = child.process
    feeder = Feeder(reader, process.stdin)  # type: ignore[arg-type]
    try:
        feeder.start()
        while chunk := process.stdout.read(FETCH_CHUNK_SIZE):  # type: ignore[union-attr]
            sink.write(chunk)
            on_bytes(reader.count)
        returncode = wait_counting_cpu(process, times, "decrypt")
        feeder.join()
    except BaseException as exc:
        child.stop()  # the feeder then fails its next write and stops
        feeder.join_after(exc)
        raise
    finally:
        message = child.close()
    if feeder.error is not None:
        raise feeder.error
    if (failure := age_failure(returncode, message)) is not None:
        raise failure


def _decrypt_here(
    reader: HashingReader,
    sink: Writable,
    identities: list[x25519.Identity],
    on_bytes: Callable[[int], None],
    times: StageTimes,
) -> None:
    """The same decryption in this process, with decrypt_into's contract."""
    outside = 0.0  # seconds in our reader and writer, which pyrage calls back

    class Reporting:
        def write(self, data: bytes) -> int | None:
            nonlocal outside
            started = time.perf_counter()
            written = sink.write(data)
            on_bytes(reader.count)
            outside += time.perf_counter() - started
            return written

    class Reading:
        def read(self, size: int = -1) -> bytes:
            nonlocal outside
            started = time.perf_counter()
            data = reader.read(size)
            outside += time.perf_counter() - started
            return data

    trap = Trap()
    started = time.perf_counter()
    try:
        pyrage.decrypt_io(
            TrappedReader(Reading(), trap), TrappedWriter(Reporting(), trap), identities
        )
        times.since("decrypt", started + outside)
    except BaseException as exc:
        # Our reader and writer record their own failures in the trap; anything else was
        # raised inside pyrage, which reports a failed authentication tag as an OSError.
        if trap.error is not None:
            raise trap.error from None
        if isinstance(exc, OSError | pyrage.DecryptError):
            raise AgeRejected(" ".join(str(exc).split())) from None
        raise
