"""Copies of every backup to a second storage: two S3 buckets in two "regions" on moto's server
over HTTP. A copy is verified against the manifest before it is committed on the target, a copy
cut mid-stream leaves nothing listed there, and copy_backups completes what is missing."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from nzila_ops.backups.copies import CopyFailed, copy_backup
from nzila_ops.backups.service import run_backup
from nzila_ops.backups.storages.s3_writer import MultipartWriter
from nzila_ops.exceptions import VerificationFailed
from nzila_ops.models import BackupCopy
from tests.backups.copies_support import (
    bucket_keys,
    copying_row,
    land_backup,
    land_in_two_regions,
    manifest_in,
    object_sha256,
    two_region_settings,
)
from tests.support.s3 import FaultyProxy

pytestmark = [
    pytest.mark.s3,
    pytest.mark.django_db(transaction=True, databases=["default", "sqlite"]),
]


def test_a_backup_that_lands_is_copied_with_the_same_sha256_and_its_manifest(
    ops_settings: Any,
    seeded_sqlite: dict[str, int],
    buckets: tuple[str, str, Any],
    s3_client: Any,
    aws_env: str,
) -> None:
    primary, secondary, secondary_client = buckets
    two_region_settings(ops_settings, primary, secondary, aws_env)

    record = run_backup("sqlite", "hourly")  # the copy task runs once the backup is committed

    key = f"dr/{record.storage_key}"
    assert object_sha256(secondary_client, secondary, key) == record.sha256
    assert manifest_in(secondary_client, secondary, "dr", record.manifest) == manifest_in(
        s3_client, primary, "nzila", record.manifest
    )
    copy = BackupCopy.objects.get(backup=record, storage_name="secondary")
    assert (copy.status, copy.sha256, copy.stored_size) == (
        "succeeded",
        record.sha256,
        record.stored_size,
    )
    assert copy.attempts == 1 and copy.copied_at is not None
    out = StringIO()
    call_command("list_backups", "--database", "sqlite", stdout=out)
    row = next(line for line in out.getvalue().splitlines() if record.name in line)
    assert row.endswith("secondary:succeeded")
    out = StringIO()
    call_command("list_backups", "--database", "sqlite", "--json", stdout=out)
    assert json.loads(out.getvalue())[0]["copies"] == {"secondary": "succeeded"}


def test_a_copy_to_s3_hands_the_writer_whole_parts_of_the_targets_own_size(
    ops_settings: Any,
    buckets: tuple[str, str, Any],
    aws_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The target's part_size_mb is 5, not the default 8: each piece goes up without a copy.
    primary, secondary, secondary_client = buckets
    two_region_settings(ops_settings, primary, secondary, aws_env, COPY_TASK_RETRIES=0)
    manifest = land_backup(size=12 << 20)
    sizes: list[int] = []
    real_write = MultipartWriter.write

    def recording(self: MultipartWriter, data: bytes) -> int:
        sizes.append(len(data))
        return real_write(self, data)

    monkeypatch.setattr(MultipartWriter, "write", recording)
    copy_backup(manifest["name"], "secondary")
    assert sizes == [5 << 20, 5 << 20, 2 << 20]
    key = f"dr/{manifest['object']['key']}"
    assert object_sha256(secondary_client, secondary, key) == manifest["object"]["sha256"]


def test_a_copy_cut_mid_stream_leaves_nothing_listed_and_copy_backups_completes_it(
    ops_settings: Any, buckets: tuple[str, str, Any], proxy: FaultyProxy
) -> None:
    primary, secondary, secondary_client = buckets
    two_region_settings(ops_settings, primary, secondary, proxy.url, COPY_TASK_RETRIES=0)
    manifest = land_backup(size=12 << 20)
    proxy.fail_next()  # the upload of the first part is reset after 256 KiB

    with pytest.raises(
        CopyFailed,
        match=r"to storage 'secondary' failed: the connection to S3 failed while writing",
    ):
        copy_backup(manifest["name"], "secondary")

    assert proxy.resets == 1
    assert bucket_keys(secondary_client, secondary) == []
    assert secondary_client.list_multipart_uploads(Bucket=secondary).get("Uploads", []) == []
    copy = BackupCopy.objects.get(backup__name=manifest["name"])
    assert copy.status == "failed" and "S3" in copy.error

    out = StringIO()
    call_command("copy_backups", "--storage", "secondary", stdout=out)

    assert f"{manifest['name']} -> secondary: copied" in out.getvalue()
    key = f"dr/{manifest['object']['key']}"
    assert object_sha256(secondary_client, secondary, key) == manifest["object"]["sha256"]
    copied = manifest_in(secondary_client, secondary, "dr", manifest)
    # The same manifest, naming the target's own version of the object where it has one.
    copied["object"].pop("version_id", None)
    assert copied == manifest
    copy.refresh_from_db()
    assert (copy.status, copy.error, copy.attempts) == ("succeeded", "", 2)


def test_a_tampered_source_is_never_committed_on_the_target(
    ops_settings: Any, buckets: tuple[str, str, Any], s3_client: Any, aws_env: str
) -> None:
    primary, secondary, secondary_client = buckets
    two_region_settings(ops_settings, primary, secondary, aws_env)
    manifest = land_backup(size=7 << 20)
    key = f"nzila/{manifest['object']['key']}"
    body = bytearray(s3_client.get_object(Bucket=primary, Key=key)["Body"].read())
    body[-1] ^= 0xFF  # same size, one byte changed: only the SHA-256 can tell
    s3_client.put_object(Bucket=primary, Key=key, Body=bytes(body))

    with pytest.raises(CopyFailed, match="does not match its manifest") as failed:
        copy_backup(manifest["name"], "secondary")

    assert bucket_keys(secondary_client, secondary) == []
    assert secondary_client.list_multipart_uploads(Bucket=secondary).get("Uploads", []) == []
    copy = BackupCopy.objects.get(backup__name=manifest["name"])
    assert isinstance(failed.value.__cause__, VerificationFailed) and not failed.value.retryable
    assert copy.status == "failed" and copy.error.endswith(f"verify_backup {manifest['name']}`")


def test_a_copy_already_on_the_target_is_not_copied_again(
    ops_settings: Any, buckets: tuple[str, str, Any], aws_env: str
) -> None:
    manifest = land_in_two_regions(ops_settings, buckets, aws_env)
    assert copy_backup(manifest["name"], "secondary").result == "copied"

    assert copy_backup(manifest["name"], "secondary").result == "present"
    out = StringIO()
    call_command("copy_backups", stdout=out)
    assert out.getvalue().strip() == "nothing to copy: every copy target holds what it should"


def test_a_copy_another_worker_is_running_is_left_to_it(
    ops_settings: Any, buckets: tuple[str, str, Any], aws_env: str
) -> None:
    _, secondary, secondary_client = buckets
    manifest = land_in_two_regions(ops_settings, buckets, aws_env)
    copying_row(manifest)

    assert copy_backup(manifest["name"], "secondary").result == "busy"
    assert bucket_keys(secondary_client, secondary) == []


def test_a_copy_left_copying_by_a_worker_that_died_is_taken_over(
    ops_settings: Any, buckets: tuple[str, str, Any], aws_env: str
) -> None:
    _, secondary, secondary_client = buckets
    manifest = land_in_two_regions(ops_settings, buckets, aws_env)
    row = copying_row(manifest)
    # No heartbeat for longer than STALE_AFTER: its worker is gone.
    BackupCopy.objects.filter(pk=row.pk).update(updated_at=timezone.now() - timedelta(minutes=11))

    assert copy_backup(manifest["name"], "secondary").result == "copied"
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("succeeded", 1)
    assert f"dr/{manifest['object']['key']}" in bucket_keys(secondary_client, secondary)
