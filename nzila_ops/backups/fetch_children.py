"""A zstd backup read back into a file by child processes: decryption, then ``zstd -d``.

The plain fetch (unpack.py) reads the decrypted stream back into this process, decompresses
it here and writes the dump file: every raw byte crosses this process twice. The native
``age -d | zstd -d > FILE`` moves it through the kernel only, and on 2 cores that was most
of the difference between our fetch and the native one (0.65 s against 0.36 s for 500 MB,
issue 16). Here ``zstd -d`` writes the dump file itself, reading the plaintext straight
from the decryption child's pipe: this process only reads the object from storage, hashing
it on the way, from a thread, exactly as before.

The checks are the same three: the SHA-256 of the object (the caller's, on the reader), age's
authentication of every chunk and its end marker (the decryption child), and zstd's frame
checksum, which ``zstd -d`` checks and which a truncated frame fails. What a failing child
said decides the message: age refusing the stream is corruption, so is zstd refusing its
input; zstd failing to write (a full disk) is not, and says so.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import ExitStack, suppress
from typing import IO, BinaryIO

from pyrage import x25519

from nzila_ops.backups.age_process import AgeRejected, Feeder, age_failure, start_child
from nzila_ops.backups.compression import zstd_cli
from nzila_ops.backups.streams import HashingReader, enlarge_pipe
from nzila_ops.backups.timing import StageTimes, wait_counting_cpu
from nzila_ops.exceptions import OpsError

#: How often the progress display hears how far the download is, in seconds.
PROGRESS_INTERVAL = 0.2

# zstd's own words for a failure to write its output (programs/fileio.c), as opposed to
# input it refuses: a full or read-only disk is the operator's to fix, not a corrupt backup.
_WRITE_FAILURES = ("write error", "no space left", "cannot write", "read-only file system")


class ZstdRejected(Exception):
    """``zstd -d`` refused its input: a corrupt or truncated zstd stream."""


def unpack_into_file(
    reader: HashingReader,
    output: BinaryIO,
    identities: list[x25519.Identity] | None,
    on_bytes: Callable[[int], None],
    times: StageTimes,
) -> int | None:
    """Decrypt (when ``identities`` is not None) and decompress everything ``reader`` yields
    into ``output``, a file opened for writing; return the bytes written.

    Returns None, having read nothing, when the children cannot run here (no zstd CLI, no
    decryption child): the caller then does it in this process. Raises AgeRejected or
    ZstdRejected for a stream the children refused, the source's own exception when reading
    it failed, and OpsError for anything else a child did wrong."""
    zstd = zstd_cli()
    if zstd is None:
        return None
    with ExitStack() as stack:
        decryptor = None
        if identities is not None:
            decryptor = start_child(identities)
            if decryptor is None:
                return None
            stack.callback(decryptor.close)
        zstd_stderr = stack.enter_context(tempfile.TemporaryFile())
        output.flush()
        plaintext = decryptor.process.stdout if decryptor else subprocess.PIPE
        try:
            decompressor = subprocess.Popen(
                [zstd, "-d", "-q", "-c", "--no-progress"],
                stdin=plaintext,
                stdout=output.fileno(),
                stderr=zstd_stderr,
            )
        except OSError:
            # A zstd on PATH that cannot run (a bad shebang, no exec permission): nothing has
            # been read yet, so the caller can still do it all in this process.
            if decryptor is not None:
                decryptor.stop()
            return None
        if decryptor is not None:
            # zstd holds the read end now: if it dies, age's next write fails and it stops.
            with suppress(OSError):
                decryptor.process.stdout.close()  # type: ignore[union-attr]
        first = decryptor.process if decryptor else decompressor
        enlarge_pipe(first.stdin)
        feeder = Feeder(reader, first.stdin)  # type: ignore[arg-type]
        try:
            feeder.start()
            while feeder.is_alive():
                feeder.join(PROGRESS_INTERVAL)
                on_bytes(reader.count)
            decrypted = wait_counting_cpu(decryptor.process, times, "decrypt") if decryptor else 0
            decompressed = wait_counting_cpu(decompressor, times, "decompress")
        except BaseException as exc:
            for process in (decompressor, decryptor.process if decryptor else None):
                if process is not None and process.returncode is None:
                    process.kill()
                    process.wait()
            feeder.join_after(exc)
            raise
        if feeder.error is not None:
            raise feeder.error
        age_said = decryptor.close() if decryptor else ""
        age_failed = age_failure(decrypted, age_said)
        zstd_failed = _zstd_failure(zstd_stderr, decompressed) if decompressed else None
        # zstd stopping first (bad input, a full disk) breaks age's pipe: then zstd's is the
        # cause, and age, which authenticated everything it wrote, is not to blame.
        age_cut_off = (
            isinstance(age_failed, AgeRejected)
            and zstd_failed is not None
            and "broken pipe" in age_said.lower()
        )
        if age_failed is not None and not age_cut_off:
            raise age_failed
        if zstd_failed is not None:
            raise zstd_failed
        on_bytes(reader.count)
        return os.fstat(output.fileno()).st_size


def _zstd_failure(stderr: IO[bytes], returncode: int) -> Exception:
    stderr.seek(0)
    said = " ".join(stderr.read().decode(errors="replace").split())
    if any(words in said.lower() for words in _WRITE_FAILURES):
        return OpsError(f"zstd -d could not write the dump file: {said}")
    return ZstdRejected(said or f"zstd -d exit status {returncode}")
