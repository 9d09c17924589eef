"""A copy reads, hashes and hands on its download while the target's writer uploads parts in
threads of its own. Whatever fails on either side, the copy fails in one line, nothing is listed
on the target, no upload is left open and no upload thread is left: a failure never hangs a
copy."""

from __future__ import annotations

import threading
from io import StringIO
from pathlib import Path
from typing import IO, Any

import pytest
from django.core.management import call_command

from nzila_ops.backups.copies import CopyFailed, copy_backup
from nzila_ops.backups.storages.filesystem import FileSystemStorage
from nzila_ops.models import BackupCopy
from tests.backups.copies_support import (
    PRIMARY_REGION,
    bucket_keys,
    land_backup,
    object_sha256,
    two_region_settings,
)
from tests.support.s3 import FaultyProxy

pytestmark = [
    pytest.mark.s3,
    pytest.mark.django_db(transaction=True, databases=["default", "sqlite"]),
]


def upload_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("nzila-s3") and t.is_alive()]


def nothing_on(client: Any, bucket: str) -> bool:
    uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return bucket_keys(client, bucket) == [] and uploads == []


class BrokenMidStream:
    """A file that raises once ``after`` bytes were read: a source failing in a way no storage
    error describes (a bug, a driver's own exception)."""

    def __init__(self, file: IO[bytes], after: int) -> None:
        self._file, self._left = file, after

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            raise RuntimeError("the source's driver fell over")
        data = self._file.read(min(size, self._left) if size >= 0 else self._left)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> BrokenMidStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class BreakingStorage(FileSystemStorage):
    """The filesystem storage, whose objects break after 6 MiB when read."""

    def open_reader(self, key: str, version_id: str | None = None) -> Any:
        return BrokenMidStream(super().open_reader(key, version_id), 6 << 20)


def test_a_download_cut_mid_stream_fails_the_copy_and_copy_backups_completes_it(
    ops_settings: Any, buckets: tuple[str, str, Any], aws_env: str, proxy: FaultyProxy
) -> None:
    primary, secondary, secondary_client = buckets
    two_region_settings(ops_settings, primary, secondary, aws_env, COPY_TASK_RETRIES=0)
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {
            **ops_settings.NZILA_OPS["STORAGES"],
            # The primary reached through the proxy; one failed read is the download's failure.
            "default": f"s3://{primary}/nzila?region={PRIMARY_REGION}&part_size_mb=5"
            f"&endpoint_url={proxy.url}&max_attempts=1",
        },
    }
    manifest = land_backup(size=16 << 20)
    proxy.fail_next(download_after=7 << 20)  # after the target's first part has gone up

    with pytest.raises(CopyFailed, match=r"to storage 'secondary' failed: the download from S3"):
        copy_backup(manifest["name"], "secondary")

    assert proxy.resets == 1
    assert nothing_on(secondary_client, secondary)
    assert upload_threads() == []
    copy = BackupCopy.objects.get(backup__name=manifest["name"])
    assert copy.status == "failed" and "after" in copy.error

    out = StringIO()
    call_command("copy_backups", "--storage", "secondary", stdout=out)

    assert f"{manifest['name']} -> secondary: copied" in out.getvalue()
    key = f"dr/{manifest['object']['key']}"
    assert object_sha256(secondary_client, secondary, key) == manifest["object"]["sha256"]


def test_a_source_that_raises_mid_stream_fails_the_copy_cleanly(
    ops_settings: Any, buckets: tuple[str, str, Any], aws_env: str, tmp_path: Path
) -> None:
    primary, secondary, secondary_client = buckets
    two_region_settings(ops_settings, primary, secondary, aws_env, COPY_TASK_RETRIES=0)
    source = tmp_path / "source"
    source.mkdir()
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {
            **ops_settings.NZILA_OPS["STORAGES"],
            "default": {
                "BACKEND": f"{__name__}.BreakingStorage",
                "OPTIONS": {"location": str(source)},
            },
        },
    }
    manifest = land_backup(size=12 << 20)

    with pytest.raises(
        CopyFailed, match=r"failed: RuntimeError: the source's driver fell over"
    ) as failed:
        copy_backup(manifest["name"], "secondary")

    assert isinstance(failed.value.__cause__, RuntimeError)
    assert nothing_on(secondary_client, secondary)  # its first 5 MiB part was uploaded
    assert upload_threads() == []
    copy = BackupCopy.objects.get(backup__name=manifest["name"])
    assert (copy.status, copy.error) == ("failed", "RuntimeError: the source's driver fell over")


def test_a_copy_whose_upload_fails_leaves_no_upload_thread_waiting(
    ops_settings: Any, buckets: tuple[str, str, Any], proxy: FaultyProxy
) -> None:
    primary, secondary, secondary_client = buckets
    # The target through the proxy. The copy stops at the fourth 5 MiB part at the latest (two
    # uploading, one waiting for a slot), well before the end of its 40 MiB.
    two_region_settings(ops_settings, primary, secondary, proxy.url, COPY_TASK_RETRIES=0)
    manifest = land_backup(size=40 << 20)
    proxy.fail_next()  # the upload of the first part is reset after 256 KiB

    with pytest.raises(CopyFailed, match="failed while writing"):
        copy_backup(manifest["name"], "secondary")

    assert proxy.resets == 1
    assert upload_threads() == []
    assert nothing_on(secondary_client, secondary)
