"""One contract, run against every storage backend: a new backend gets the suite for free."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from nzila_ops.backups.storages.base import BackupStorage
from nzila_ops.backups.storages.filesystem import FileSystemStorage
from nzila_ops.backups.storages.s3 import S3Storage, is_abandoned_upload
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
        assert list(self.storage.list_keys()) == []  # the check's probe is gone

    def test_a_version_read_back_is_the_version_written(self) -> None:
        writer = self.storage.open_writer("db/v.bin")
        writer.write(b"first")
        writer.commit()
        with self.storage.open_reader("db/v.bin", writer.version_id) as stream:
            assert stream.read() == b"first"

    def test_lock_methods_answer_on_every_storage(self) -> None:
        # Storages without object lock: not locked, extending is a no-op raising nothing.
        self.storage.write_bytes("db/m.json", b"{}")
        until = datetime.now(UTC) + timedelta(days=3)
        self.storage.extend_lock("db/m.json", until)
        locked = self.storage.lock_until("db/m.json")
        if self.storage.object_lock_mode is None:
            assert locked is None
        else:
            assert locked is not None and locked >= until - timedelta(seconds=1)
        self.storage.check_immutability()

    def abandon_a_write(self, key: str) -> None:
        """Leave behind what a writer killed mid-write leaves, as each backend's would."""
        raise NotImplementedError

    def test_what_a_killed_write_left_is_swept_and_said(self) -> None:
        self.abandon_a_write("db/dead.bin")
        assert self.sweep_later() != []
        assert self.sweep_later() == []  # nothing left for the next run
        assert list(self.storage.list_keys()) == []

    def sweep_later(self) -> list[str]:
        # Leftovers are removed only once they are old enough not to be a write just starting.
        with time_machine.travel(datetime.now(UTC) + timedelta(days=2)):
            swept = self.storage.sweep_abandoned_writes()
        assert all("dead.bin" in what for what in swept)
        return swept


class TestFileSystemStorage(StorageContract):
    @pytest.fixture(autouse=True)
    def _storage(self, tmp_path: Path) -> None:
        (tmp_path / "store").mkdir()
        self.storage = FileSystemStorage("default", location=str(tmp_path / "store"))

    def abandon_a_write(self, key: str) -> None:
        # A real process, killed with SIGKILL in the middle of its write.
        code = (
            "import os, signal, sys\n"
            "from nzila_ops.backups.storages.filesystem import FileSystemStorage\n"
            "writer = FileSystemStorage('d', location=sys.argv[1]).open_writer(sys.argv[2])\n"
            "writer.write(b'x' * 3_000_000)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n"
        )
        subprocess.run([sys.executable, "-c", code, str(self.storage.root), key], check=False)
        assert [p.name for p in self.storage.root.rglob("*.partial")] != []

    def test_a_write_in_progress_is_never_swept(self) -> None:
        writer = self.storage.open_writer("db/live.bin")
        writer.write(b"x" * (6 << 20))
        with time_machine.travel(datetime.now(UTC) + timedelta(days=3)):
            assert self.storage.sweep_abandoned_writes() == []
        writer.commit()
        assert self.storage.size("db/live.bin") == 6 << 20

    def test_the_storage_directory_must_exist(self, tmp_path: Path) -> None:
        typo = FileSystemStorage("default", location=str(tmp_path / "backup"))
        with pytest.raises(StorageError, match=r"backup does not exist .*create=true"):
            typo.check()
        with pytest.raises(StorageError, match="does not exist"):
            list(typo.list_keys())
        assert not (tmp_path / "backup").exists()

    def test_a_write_never_recreates_a_root_that_went_away(self, tmp_path: Path) -> None:
        # A volume unmounted after start-up: no object, no manifest, no history lands on the
        # local disk under the mount point's name.
        self.storage.root.rmdir()
        for write in (
            lambda: self.storage.open_writer("db/a.bin"),
            lambda: self.storage.write_bytes("_history/drills/x.json", b"{}"),
        ):
            with pytest.raises(StorageError, match="does not exist"):
                write()
        assert not self.storage.root.exists()

    def test_create_true_creates_the_storage_directory(self, tmp_path: Path) -> None:
        FileSystemStorage("default", location=str(tmp_path / "new"), create="true").check()
        assert (tmp_path / "new").is_dir()

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

    def abandon_a_write(self, key: str) -> None:
        # What a backup whose process died (or whose abort could not reach S3) leaves: an
        # upload started, a part sent, never completed nor aborted.
        client, bucket = self.storage.client, self.storage.bucket
        full_key = f"{self.storage.prefix}/{key}"
        upload = client.create_multipart_upload(Bucket=bucket, Key=full_key)
        client.upload_part(
            Bucket=bucket, Key=full_key, UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 100
        )

    def test_only_uploads_under_the_prefix_are_swept(self, s3_client: Any, s3_bucket: str) -> None:
        s3_client.create_multipart_upload(Bucket=s3_bucket, Key="other-app/big.bin")
        self.abandon_a_write("db/dead.bin")
        assert len(self.sweep_later()) == 1
        remaining = s3_client.list_multipart_uploads(Bucket=s3_bucket)["Uploads"]
        assert [u["Key"] for u in remaining] == ["other-app/big.bin"]

    def test_a_storage_without_prefix_aborts_nobody_s_uploads(
        self, s3_client: Any, s3_bucket: str
    ) -> None:
        # The whole bucket: other applications' uploads may be there.
        s3_client.create_multipart_upload(Bucket=s3_bucket, Key="other-app/big.bin")
        whole_bucket = S3Storage("default", bucket=s3_bucket)
        with time_machine.travel(datetime.now(UTC) + timedelta(days=2)):
            assert whole_bucket.sweep_abandoned_writes() == []
        assert len(s3_client.list_multipart_uploads(Bucket=s3_bucket)["Uploads"]) == 1

    def test_only_uploads_older_than_a_day_count_as_abandoned(self) -> None:
        now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
        assert not is_abandoned_upload(now - timedelta(hours=23, minutes=59), now)
        assert not is_abandoned_upload(now, now)
        assert is_abandoned_upload(now - timedelta(days=1, minutes=1), now)

    def test_objects_live_under_the_prefix(self, s3_client: Any, s3_bucket: str) -> None:
        self.storage.write_bytes("db/m.json", b"{}")
        keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
        assert keys == ["p/q/db/m.json"]

    def test_sse_kms_is_requested_on_every_object(self, s3_client: Any, s3_bucket: str) -> None:
        storage = S3Storage("k", bucket=s3_bucket, sse="aws:kms", kms_key_id="alias/backups")
        storage.write_bytes("db/m.json", b"{}")
        head = s3_client.head_object(Bucket=s3_bucket, Key="db/m.json")
        assert head["ServerSideEncryption"] == "aws:kms"


@pytest.mark.s3
class TestObjectLockedS3Storage(StorageContract):
    """The whole contract against a bucket with Object Lock: versions, deletes by version, the
    probe. Locks written here end at once (no minimum age, no margin) so deletes may succeed;
    tests/backups/test_object_lock*.py hold the locks that last."""

    @pytest.fixture(autouse=True)
    def _storage(self, settings: Any, aws_env: str, s3_client: Any) -> None:
        import uuid

        bucket = f"nzila-lock-{uuid.uuid4().hex[:10]}"
        s3_client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        settings.NZILA_OPS = {"RETENTION": {"MIN_AGE_MINUTES": 0}}
        self.storage = S3Storage(
            "locked",
            bucket=bucket,
            prefix="p",
            part_size_mb=5,
            object_lock="governance",
            lock_margin_days=0,
        )

    def abandon_a_write(self, key: str) -> None:
        client, bucket = self.storage.client, self.storage.bucket
        upload = client.create_multipart_upload(Bucket=bucket, Key=f"p/{key}")
        client.upload_part(
            Bucket=bucket, Key=f"p/{key}", UploadId=upload["UploadId"], PartNumber=1, Body=b"x"
        )

    def test_a_delete_leaves_no_version_and_no_delete_marker(self, s3_client: Any) -> None:
        self.storage.write_bytes("db/m.json", b"{}")
        self.storage.write_bytes("db/m.json", b"[]")
        self.storage.delete("db/m.json")
        listing = s3_client.list_object_versions(Bucket=self.storage.bucket)
        assert listing.get("Versions", []) == [] and listing.get("DeleteMarkers", []) == []
