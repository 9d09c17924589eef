"""Backups to S3 through moto's server over HTTP: multipart streaming, SSE, listing."""

from __future__ import annotations

import hashlib
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from nzila_ops.backups.service import run_backup
from tests.support import pg
from tests.support.tools import decrypt_and_decompress, pg_restore_list

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


def test_s3_backup_streams_in_parts_with_sse_and_recovers_by_hand(
    ops_settings: Any,
    seeded_postgres: dict[str, int],
    s3_bucket: str,
    s3_client: Any,
    age_key: tuple[Path, str],
    tmp_path: Path,
) -> None:
    pg.add_incompressible_rows(12)
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {"default": f"s3://{s3_bucket}/nzila/prod?sse=AES256&part_size_mb=5"},
    }
    record = run_backup("default", "hourly")

    key = f"nzila/prod/{record.storage_key}"
    head = s3_client.head_object(Bucket=s3_bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentLength"] == record.stored_size > 12 * (1 << 20)
    assert "-" in head["ETag"], "expected a multipart upload"
    body = s3_client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == record.sha256

    manifest_key = key.replace(".pgdump.zst.age", ".manifest.json")
    manifest = json.loads(s3_client.get_object(Bucket=s3_bucket, Key=manifest_key)["Body"].read())
    assert manifest["object"]["sha256"] == record.sha256
    assert manifest["storage"]["location"] == f"s3://{s3_bucket}/nzila/prod"

    stored = tmp_path / "download.pgdump.zst.age"
    stored.write_bytes(body)
    dump = decrypt_and_decompress(stored, age_key[0], "zstd")
    assert "TABLE DATA public blobs" in pg_restore_list(dump)
    uploads = s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    assert uploads == []

    out = StringIO()
    call_command("list_backups", "--database", "default", stdout=out)
    assert record.name in out.getvalue()
