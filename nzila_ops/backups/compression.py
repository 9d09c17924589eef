"""Compression codecs: zstd (default) and gzip (the original plan's format).

Both produce standard files: ``zstd -d`` and ``gzip -d`` read them. A codec hands out streaming
compressor objects with the ``compress()/flush()`` shape that ``zlib`` and ``zstandard`` share,
and decompressors whose every call returns at most a given number of bytes, so the pipeline
treats them alike and its memory does not depend on the compression ratio.

Decompression uses ``compression.zstd`` (the standard library from Python 3.14, the
``backports.zstd`` package before): python-zstandard's ``decompressobj`` has no output limit, and
1 MiB of a backup whose tables compress a hundredfold came back as one 100 MiB block.
"""

from __future__ import annotations

import os
import shutil
import zlib
from dataclasses import dataclass
from typing import Protocol

import zstandard

try:
    from compression import zstd
except ImportError:  # Python < 3.14
    from backports import zstd  # type: ignore[no-redef]

from nzila_ops.exceptions import ConfigurationError

ZSTD_JOB_SIZE = 1 << 20
#: A zstd window larger than this (2**27, 128 MiB) is refused rather than allocated.
ZSTD_WINDOW_LOG_MAX = 27

#: What a decompressor raises on bytes that are not a valid stream of its format.
CORRUPT_DATA_ERRORS: tuple[type[Exception], ...] = (zstd.ZstdError, zlib.error)


class Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class Decompressor(Protocol):
    """``decompress(data, max_length)`` returns at most ``max_length`` bytes; while
    ``needs_input`` is False more output is waiting, collected with ``decompress(b"", ...)``.
    ``eof`` is True once the stream's end marker (and checksum) has been read."""

    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    def decompress(self, data: bytes, max_length: int) -> bytes: ...


class ZstdDecompressor:
    """One zstd frame, as ``compression.zstd`` decompresses it; data after the frame's end is
    refused (python-zstandard's ``decompressobj`` refused it too, and a backup is one frame)."""

    def __init__(self) -> None:
        self._zstd = zstd.ZstdDecompressor(
            options={zstd.DecompressionParameter.window_log_max: ZSTD_WINDOW_LOG_MAX}
        )

    @property
    def eof(self) -> bool:
        return self._zstd.eof

    @property
    def needs_input(self) -> bool:
        return self._zstd.eof or self._zstd.needs_input

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._zstd.eof:
            if data:
                raise zstd.ZstdError("data after the end of the zstd stream")
            return b""
        return self._zstd.decompress(data, max_length)


class GzipDecompressor:
    """A gzip member through ``zlib``, whose ``max_length`` leaves the input it did not get to
    in ``unconsumed_tail``."""

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj(31)  # wbits=31: a gzip container
        self._full = False  # the last call filled max_length: inflate may hold more

    @property
    def eof(self) -> bool:
        return self._zlib.eof

    @property
    def needs_input(self) -> bool:
        return self._zlib.eof or not (self._zlib.unconsumed_tail or self._full)

    def decompress(self, data: bytes, max_length: int) -> bytes:
        pending = self._zlib.unconsumed_tail
        output = self._zlib.decompress(pending + data if pending else data, max_length)
        self._full = len(output) == max_length
        return output


def zstd_cli() -> str | None:
    """The ``zstd`` command's path, or None where it is not installed (then this process
    compresses and decompresses with python-zstandard)."""
    return shutil.which("zstd")


def zstd_threads(threads: int) -> int:
    """The zstd worker threads for COMPRESSION_THREADS ``threads``; -1 (any negative) is
    "auto", resolved here for the in-process compressor and the zstd child alike."""
    if threads < 0:
        # pg_dump and its server backend keep about one core busy; the rest compresses.
        return max(1, (os.cpu_count() or 2) // 2)
    return threads


@dataclass(frozen=True)
class Codec:
    name: str
    extension: str
    default_level: int
    min_level: int
    max_level: int

    def check_level(self, level: int | None) -> int:
        level = self.default_level if level is None else level
        if not self.min_level <= level <= self.max_level:
            raise ConfigurationError(
                f"{self.name} level {level} is out of range {self.min_level}..{self.max_level}"
            )
        return level

    def compressor(self, level: int | None = None, threads: int = 0) -> Compressor:
        level = self.check_level(level)
        if self.name == "zstd":
            threads = zstd_threads(threads)
            options = {"threads": threads, "write_checksum": True}
            if threads:
                # Small jobs keep memory at a few MiB per worker (the default is 4 windows,
                # ~8 MiB, plus buffers) for a ratio within 0.2 % of the default.
                options["job_size"] = ZSTD_JOB_SIZE
            params = zstandard.ZstdCompressionParameters.from_level(level, **options)
            return zstandard.ZstdCompressor(compression_params=params).compressobj()
        # wbits=31: a gzip container, so `gzip -d` and `zcat` read the result.
        return zlib.compressobj(level, zlib.DEFLATED, 31)

    def decompressor(self) -> Decompressor:
        return ZstdDecompressor() if self.name == "zstd" else GzipDecompressor()


CODECS = {
    "zstd": Codec("zstd", ".zst", default_level=3, min_level=-7, max_level=22),
    "gzip": Codec("gzip", ".gz", default_level=9, min_level=1, max_level=9),
}


def get_codec(name: str) -> Codec:
    try:
        return CODECS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown compression {name!r}; use one of {', '.join(CODECS)}"
        ) from None
