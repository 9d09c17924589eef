"""Fixtures shared by the backup tests: moto buckets for copies and for object lock, a proxy
before moto that can cut a transfer, a second storage on disk, the live database a restore
replaces, and the admin restore users and cache."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.db import connections

# The admin restore tests' fixtures, for every test here (no per-file fixture imports).
from tests.backups.admin_restore_support import operator, redis_cache, staff_only  # noqa: F401
from tests.backups.copies_support import SECONDARY_REGION, add_file_storage, make_bucket
from tests.support import pg
from tests.support.s3 import FaultyProxy


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultyProxy]:
    """A proxy before moto that can cut a download or an upload mid-way."""
    faulty = FaultyProxy(int(moto_endpoint.rsplit(":", 1)[1]))
    yield faulty
    faulty.close()


@pytest.fixture
def buckets(aws_env: str, s3_client: Any) -> Iterator[tuple[str, str, Any]]:
    """(primary bucket, secondary bucket in another region, a client of the secondary's
    region), on moto's server."""
    secondary_client = boto3.client("s3", endpoint_url=aws_env, region_name=SECONDARY_REGION)
    yield (
        make_bucket(s3_client, "us-east-1"),
        make_bucket(secondary_client, SECONDARY_REGION),
        secondary_client,
    )


@pytest.fixture
def lock_bucket(aws_env: str, s3_client: Any) -> str:
    """A bucket created with Object Lock (versioned), without a default retention rule."""
    name = f"nzila-lock-{uuid.uuid4().hex[:10]}"
    s3_client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


@pytest.fixture
def second(ops_settings: Any, tmp_path: Path) -> Path:
    """A file:// storage ``secondary``, the only copy target. Returns its directory."""
    return add_file_storage(ops_settings, tmp_path)


@pytest.fixture
def two_storages(ops_settings: Any, tmp_path: Path) -> Any:
    """A file:// storage ``secondary`` next to the default one, not a copy target."""
    add_file_storage(ops_settings, tmp_path, copy=False)
    return ops_settings


@pytest.fixture
def live_db(transactional_db: Any) -> Iterator[str]:
    """The test database's name; copies kept by restores are dropped afterwards."""
    name = connections["default"].settings_dict["NAME"]
    yield name
    for leftover in pg.databases_like(f"{name}_"):
        pg.drop_database(leftover)
