"""The S3 writer declares its multipart uploads CRC32, as boto3's own transfers do: S3 keeps a
composite CRC32 of the object built from each part's (not a whole-object checksum the server
works out at completion), and a write of exactly one part's bytes goes up as it is, unchanged."""

from __future__ import annotations

import hashlib
import os

import pytest

from nzila_ops.backups.storages.s3 import MIB, S3Storage

pytestmark = pytest.mark.s3


def test_a_multipart_object_keeps_a_composite_crc32_of_its_parts(s3_bucket: str) -> None:
    storage = S3Storage("default", bucket=s3_bucket, part_size_mb=5)
    writer = storage.open_writer("crc/object.bin")
    for size in (5 * MIB, 5 * MIB, 1234):
        writer.write(os.urandom(size))
    writer.commit()

    attributes = storage.client.get_object_attributes(
        Bucket=s3_bucket, Key="crc/object.bin", ObjectAttributes=["Checksum"]
    )

    assert attributes["Checksum"]["ChecksumType"] == "COMPOSITE"
    assert attributes["Checksum"]["ChecksumCRC32"]


def test_part_sized_writes_between_odd_ones_read_back_identical(s3_bucket: str) -> None:
    # Whole parts handed over as they are, others filled in place: the bytes stay in order.
    storage = S3Storage("default", bucket=s3_bucket, part_size_mb=5)
    written = hashlib.sha256()
    writer = storage.open_writer("whole/object.bin")
    sizes = (5 * MIB, 5 * MIB, 7, 5 * MIB, 5 * MIB - 7, 5 * MIB, 3 * MIB)
    for size in sizes:
        data = os.urandom(size)
        written.update(data)
        assert writer.write(data) == size
    writer.commit()

    with storage.open_reader("whole/object.bin") as reader:
        assert hashlib.sha256(reader.read()).hexdigest() == written.hexdigest()
    assert storage.size("whole/object.bin") == sum(sizes)
