"""The S3 writer declares its multipart uploads CRC32, as boto3's own transfers do: S3 keeps a
composite CRC32 of the object built from each part's (not a whole-object checksum the server
works out at completion). That a write of exactly one part's bytes goes up unchanged is in
test_s3_writer_memory.py, with the other write sizes."""

from __future__ import annotations

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


def test_checksums_only_when_required_declare_none_and_still_commit(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An S3-compatible service without these checksums: botocore told to send them only where
    # an operation requires them, the writer declares none either.
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    storage = S3Storage("default", bucket=s3_bucket, part_size_mb=5)
    sent: list[dict[str, str]] = []
    storage.client.meta.events.register(
        "before-send.s3", lambda request, **_: sent.append(dict(request.headers))
    )
    writer = storage.open_writer("plain/object.bin")
    for size in (5 * MIB, 1234):
        writer.write(os.urandom(size))
    writer.commit()
    by_writer = list(sent)

    assert len(by_writer) == 4  # create, two parts, complete
    assert not any(k.lower().startswith("x-amz-checksum") for h in by_writer for k in h)
    assert storage.size("plain/object.bin") == 5 * MIB + 1234
    attributes = storage.client.get_object_attributes(
        Bucket=s3_bucket, Key="plain/object.bin", ObjectAttributes=["Checksum"]
    )
    assert "ChecksumCRC32" not in attributes.get("Checksum", {})
