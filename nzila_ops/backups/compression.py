"""Compression codecs: zstd (default) and gzip (the original plan's format).

Both produce standard files: ``zstd -d`` and ``gzip -d`` read them. A codec hands out streaming
compressor/decompressor objects with the ``compress()/flush()`` and ``decompress()`` shape that
``zlib`` and ``zstandard`` share, so the pipeline treats them alike.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import Protocol

import zstandard

from nzila_ops.exceptions import ConfigurationError

ZSTD_JOB_SIZE = 1 << 20


class Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class Decompressor(Protocol):
    def decompress(self, data: bytes) -> bytes: ...


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
            if threads < 0:
                # pg_dump and its server backend keep about one core busy; the rest compresses.
                threads = max(1, (os.cpu_count() or 2) // 2)
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
        if self.name == "zstd":
            # max_window_size bounds memory whatever level wrote the file.
            return zstandard.ZstdDecompressor(max_window_size=1 << 27).decompressobj()
        return zlib.decompressobj(31)


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
