"""Two S3 buckets in two "regions" on moto's server, and backups landed in the primary without
a database dump (random bytes and a manifest), for the copy tests."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from nzila_ops.backups.catalog import record_fields
from nzila_ops.backups.manifest import MANIFEST_FORMAT, MANIFEST_VERSION, write_manifest
from nzila_ops.backups.storages import get_storage
from nzila_ops.models import BackupCopy, BackupRecord

PRIMARY_REGION, SECONDARY_REGION = "us-east-1", "eu-west-1"


def make_bucket(client: Any, region: str) -> str:
    name = f"nzila-{uuid.uuid4().hex[:12]}"
    if region == "us-east-1":
        client.create_bucket(Bucket=name)
    else:
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    return name


def two_region_settings(
    settings: Any, primary: str, secondary: str, secondary_endpoint: str, **extra: Any
) -> None:
    """BACKUP_STORAGE in one bucket; the copy target in another region's bucket, reached
    through ``secondary_endpoint`` (moto itself, a proxy, or a closed port). One attempt per
    request on the target, so a cut connection is the copy's failure, not botocore's retry."""
    settings.NZILA_OPS = {
        **settings.NZILA_OPS,
        "STORAGES": {
            "default": f"s3://{primary}/nzila?region={PRIMARY_REGION}&part_size_mb=5",
            "secondary": (
                f"s3://{secondary}/dr?region={SECONDARY_REGION}&part_size_mb=5"
                f"&endpoint_url={secondary_endpoint}&max_attempts=1&connect_timeout=1"
                "&read_timeout=5"
            ),
        },
        "COPY_STORAGES": ["secondary"],
        **extra,
    }


def add_file_storage(
    settings: Any, tmp_path: Path, alias: str = "secondary", copy: bool = True, **extra: Any
) -> Path:
    """A second storage ``alias``: the directory ``tmp_path/second`` (file://), next to the
    test's own storages; with ``copy`` it is the only copy target (COPY_STORAGES). ``extra``
    keys are set in NZILA_OPS too. Returns the directory."""
    directory = tmp_path / "second"
    directory.mkdir()
    settings.NZILA_OPS = {
        **settings.NZILA_OPS,
        "STORAGES": {**settings.NZILA_OPS["STORAGES"], alias: f"file://{directory}"},
        **({"COPY_STORAGES": [alias]} if copy else {}),
        **extra,
    }
    return directory


def land_backup(
    size: int = 6 << 20, finished_at: datetime | None = None, alias: str = "default"
) -> dict[str, Any]:
    """A backup as run_backup leaves it in BACKUP_STORAGE (object, then manifest) and its
    succeeded catalog row; the object is random bytes. Returns the manifest."""
    finished_at = finished_at or timezone.now() - timedelta(minutes=1)
    name = f"{alias}-{finished_at:%Y%m%dT%H%M%SZ}-hourly-{secrets.token_hex(2)}"
    data = os.urandom(size)
    key = f"{alias}/{name}.pgdump.zst.age"
    storage = get_storage()
    writer = storage.open_writer(key)
    writer.write(data)
    writer.commit()
    manifest = {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "name": name,
        "database_alias": alias,
        "engine": "postgresql",
        "backup_type": "hourly",
        "started_at": (finished_at - timedelta(seconds=30)).isoformat(),
        "finished_at": finished_at.isoformat(),
        "storage": {"name": storage.name, "location": storage.describe()},
        "object": {
            "key": key,
            "stored_size": size,
            "raw_size": size,
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        "dump": {"server_version": "15", "tool_version": "15"},
        "compression": {"algorithm": "zstd", "level": 3},
        "encryption": None,
        "tables": [],
        "sequences": [],
    }
    write_manifest(storage, manifest)
    BackupRecord.objects.create(name=name, **record_fields(manifest, storage.name))
    return manifest


def land_in_two_regions(
    settings: Any,
    buckets: tuple[str, str, Any],
    secondary_endpoint: str,
    size: int = 1 << 20,
    **extra: Any,
) -> dict[str, Any]:
    """two_region_settings on the ``buckets`` fixture's buckets, then one backup of ``size``
    bytes landed in the primary. Returns its manifest."""
    primary, secondary, _ = buckets
    two_region_settings(settings, primary, secondary, secondary_endpoint, **extra)
    return land_backup(size=size)


def copying_row(manifest: dict[str, Any]) -> BackupCopy:
    """The catalog row of a copy to ``secondary`` that a worker has started (status copying)."""
    record = BackupRecord.objects.get(name=manifest["name"])
    return BackupCopy.objects.create(backup=record, storage_name="secondary", status="copying")


def bucket_keys(client: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def object_sha256(client: Any, bucket: str, key: str) -> str:
    return hashlib.sha256(client.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()


def manifest_in(client: Any, bucket: str, prefix: str, manifest: dict[str, Any]) -> Any:
    key = f"{prefix}/{manifest['database_alias']}/{manifest['name']}.manifest.json"
    return json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
