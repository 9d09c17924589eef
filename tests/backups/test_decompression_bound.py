"""Decompression hands its output on in bounded pieces, whatever the compression ratio.

A restore's memory must not grow with how well a backup compressed: a table of near-identical
rows (a heartbeat or audit log) compresses a hundredfold or more, and 1 MiB of it read from
storage used to become one 100 MiB block in memory (a restore peaked at 190 MB RSS).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nzila_ops.backups.compression import CORRUPT_DATA_ERRORS, get_codec
from nzila_ops.backups.streams import CHUNK_SIZE, FETCH_CHUNK_SIZE, DecompressingWriter

# Rows of a table whose rows barely differ: the ratio that broke restores.
REPETITIVE = b"".join(b"%d\theartbeat\tpayments_api\tok\n" % (i % 10) for i in range(600_000))


class RecordingSink:
    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pieces.append(bytes(data))
        return len(data)


def compressed(codec_name: str, data: bytes) -> bytes:
    compressor = get_codec(codec_name).compressor()
    return compressor.compress(data) + compressor.flush()


def decompress_in_writes(codec_name: str, writes: list[bytes]) -> tuple[RecordingSink, Any]:
    sink = RecordingSink()
    writer = DecompressingWriter(get_codec(codec_name).decompressor(), sink)
    for data in writes:
        writer.write(data)
    return sink, writer


@pytest.mark.parametrize("codec_name", ["zstd", "gzip"])
def test_a_highly_compressible_chunk_reaches_the_sink_in_pieces_of_at_most_a_fetch_chunk(
    codec_name: str,
) -> None:
    blob = compressed(codec_name, REPETITIVE)
    assert len(REPETITIVE) > 10 * CHUNK_SIZE > 10 * len(blob)  # one write expands tenfold+

    sink, writer = decompress_in_writes(codec_name, [blob])

    assert max(len(piece) for piece in sink.pieces) <= FETCH_CHUNK_SIZE
    assert b"".join(sink.pieces) == REPETITIVE
    assert writer.count == len(REPETITIVE)
    assert writer.finished()


@pytest.mark.parametrize("codec_name", ["zstd", "gzip"])
def test_a_stream_cut_short_is_not_finished(codec_name: str) -> None:
    blob = compressed(codec_name, REPETITIVE)

    sink, writer = decompress_in_writes(codec_name, [blob[: len(blob) // 2]])

    assert not writer.finished()
    assert len(b"".join(sink.pieces)) < len(REPETITIVE)


def test_data_written_after_the_end_of_a_zstd_stream_is_refused() -> None:
    blob = compressed("zstd", b"a dump")

    with pytest.raises(CORRUPT_DATA_ERRORS):
        decompress_in_writes("zstd", [blob, b"more"])


@settings(max_examples=40, deadline=None)
@given(
    codec_name=st.sampled_from(["zstd", "gzip"]),
    cuts=st.lists(st.integers(min_value=0, max_value=1 << 16), max_size=12),
)
def test_any_split_of_the_input_gives_the_same_output_in_bounded_pieces(
    codec_name: str, cuts: list[int]
) -> None:
    blob = compressed(codec_name, REPETITIVE[: 4 * CHUNK_SIZE])
    points = sorted({min(cut, len(blob)) for cut in cuts} | {0, len(blob)})
    writes = [blob[start:end] for start, end in itertools.pairwise(points)]

    sink, writer = decompress_in_writes(codec_name, writes)

    assert b"".join(sink.pieces) == REPETITIVE[: 4 * CHUNK_SIZE]
    assert all(len(piece) <= FETCH_CHUNK_SIZE for piece in sink.pieces)
    assert writer.finished()


@settings(max_examples=60, deadline=None)
@given(codec_name=st.sampled_from(["zstd", "gzip"]), junk=st.binary(max_size=2048))
def test_bytes_that_are_not_a_stream_are_refused_never_crash(codec_name: str, junk: bytes) -> None:
    try:
        sink, writer = decompress_in_writes(codec_name, [junk])
    except CORRUPT_DATA_ERRORS:
        return
    # Accepted: only a stream's valid beginning, which then is not finished.
    assert not writer.finished()
    assert b"".join(sink.pieces) == b""
