"""One contract, run against every storage backend: a new backend gets the suite for free."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nzila_ops.backups.storages.base import BackupStorage
from nzila_ops.backups.storages.filesystem import FileSystemStorage
from nzila_ops.backups.storages.s3 import S3Storage
from nzila_ops.exceptions import InvalidArgument, StorageError


class StorageContract:
    storage: BackupStorage

    def test_a_committed_object_reads_back_whole(self) -> None:
        writer = self.storage.open_writer("db/a.bin")
        data = bytes(range(256)) * 50_000  # 12.8 MB: several S3 parts
        for start in range(0, len(data), 1 << 20):
            writer.write(data[start : start + (1 << 20)])
        writer.commit()
        with self.storage.open_reader("db/a.bin") as stream:
            assert stream.read() == data
        assert self.storage.size("db/a.bin") == len(data)
        assert self.storage.exists("db/a.bin")

    def test_an_aborted_object_leaves_nothing(self) -> None:
        writer = self.storage.open_writer("db/b.bin")
        writer.write(b"x" * (6 << 20))
        writer.abort()
        assert not self.storage.exists("db/b.bin")
        assert list(self.storage.list_keys()) == []

    def test_small_objects_list_and_delete(self) -> None:
        self.storage.write_bytes("one/m.json", b"{}")
        self.storage.write_bytes("two/m.json", b"[]")
        assert sorted(self.storage.list_keys()) == ["one/m.json", "two/m.json"]
        assert list(self.storage.list_keys("one/")) == ["one/m.json"]
        assert self.storage.read_bytes("two/m.json") == b"[]"
        self.storage.delete("one/m.json")
        self.storage.delete("one/m.json")  # deleting twice is fine
        assert sorted(self.storage.list_keys()) == ["two/m.json"]

    def test_missing_objects_are_a_clear_error(self) -> None:
        with pytest.raises(StorageError):
            self.storage.read_bytes("nope/x")
        with pytest.raises(StorageError):
            self.storage.size("nope/x")
        assert not self.storage.exists("nope/x")

    @pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../b", "a//b", ""])
    def test_keys_cannot_escape_the_storage(self, key: str) -> None:
        with pytest.raises(InvalidArgument):
            self.storage.open_writer(key)

    def test_check_passes_when_reachable(self) -> None:
        self.storage.check()


class TestFileSystemStorage(StorageContract):
    @pytest.fixture(autouse=True)
    def _storage(self, tmp_path: Path) -> None:
        self.storage = FileSystemStorage("default", location=str(tmp_path / "store"))

    def test_partial_writes_are_hidden_until_commit(self, tmp_path: Path) -> None:
        writer = self.storage.open_writer("db/c.bin")
        writer.write(b"data")
        assert list(self.storage.list_keys()) == []
        writer.commit()
        assert list(self.storage.list_keys()) == ["db/c.bin"]


@pytest.mark.s3
class TestS3Storage(StorageContract):
    @pytest.fixture(autouse=True)
    def _storage(self, s3_bucket: str) -> None:
        self.storage = S3Storage("default", bucket=s3_bucket, prefix="p/q", part_size_mb=5)

    def test_objects_live_under_the_prefix(self, s3_client: Any, s3_bucket: str) -> None:
        self.storage.write_bytes("db/m.json", b"{}")
        keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
        assert keys == ["p/q/db/m.json"]

    def test_sse_kms_is_requested_on_every_object(self, s3_client: Any, s3_bucket: str) -> None:
        storage = S3Storage("k", bucket=s3_bucket, sse="aws:kms", kms_key_id="alias/backups")
        storage.write_bytes("db/m.json", b"{}")
        head = s3_client.head_object(Bucket=s3_bucket, Key="db/m.json")
        assert head["ServerSideEncryption"] == "aws:kms"
