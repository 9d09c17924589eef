"""The S3 writer holds a bounded number of parts whatever the object's size, and the object it
commits is exactly the bytes written, however the writes were cut (parts are filled in place
and their buffers used again once uploaded)."""

from __future__ import annotations

import hashlib
import os
import tracemalloc

import pytest

from nzila_ops.backups.storages.s3 import MIB, PARTS_IN_FLIGHT, S3Storage
from tests.support.s3 import moto_server_process

pytestmark = pytest.mark.s3


@pytest.mark.parametrize(
    "sizes",
    [
        (1, 3 * MIB + 7, 5 * MIB, 5 * MIB - 8, 9 * MIB + 1, 0, 2 * MIB, 12345),
        # Whole parts handed over as they are, others filled in place: the bytes stay in order.
        (5 * MIB, 5 * MIB, 7, 5 * MIB, 5 * MIB - 7, 5 * MIB, 3 * MIB),
    ],
    ids=["odd sizes across many parts", "part-sized writes between odd ones"],
)
def test_writes_of_any_size_read_back_identical(s3_bucket: str, sizes: tuple[int, ...]) -> None:
    storage = S3Storage("default", bucket=s3_bucket, part_size_mb=5)
    written = hashlib.sha256()
    writer = storage.open_writer("odd/object.bin")
    for size in sizes:
        data = os.urandom(size)
        written.update(data)
        assert writer.write(data) == size
    writer.commit()
    with storage.open_reader("odd/object.bin") as reader:
        assert hashlib.sha256(reader.read()).hexdigest() == written.hexdigest()
    assert storage.size("odd/object.bin") == sum(sizes)


def test_writing_twelve_parts_holds_no_more_than_the_parts_in_flight(aws_env: str) -> None:
    # moto in a process of its own: the bytes it stores are not this process's.
    with moto_server_process() as endpoint:
        storage = S3Storage("default", bucket="memory", endpoint_url=endpoint, part_size_mb=5)
        storage.client.create_bucket(Bucket="memory")
        peak = write_twelve_parts(storage)
        assert storage.size("big/object.bin") == 12 * storage.part_size
    # The parts uploading and the one being filled, plus what botocore holds per request.
    assert peak < (PARTS_IN_FLIGHT + 1) * storage.part_size + 3 * MIB, f"peak {peak / MIB:.1f} MiB"


def write_twelve_parts(storage: S3Storage) -> int:
    """Peak bytes allocated by Python while the writer writes 12 parts, 1 MiB at a time."""
    part = storage.part_size
    piece = os.urandom(MIB)
    tracemalloc.start()
    try:
        writer = storage.open_writer("big/object.bin")
        for _ in range(12 * part // MIB):
            writer.write(piece)
        writer.commit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak
