"""A real backup into an object-locked bucket: locked object and manifest, the version recorded,
and the backup still verified and restored from its locked version after an attacker holding the
app's credentials overwrote and delete-marked its key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.db import connections

from nzila_ops.backups.restore import restore_database
from nzila_ops.backups.service import run_backup
from nzila_ops.backups.verify import verify_backup
from nzila_ops.exceptions import ObjectLocked
from tests.backups.helpers import table_counts

pytestmark = [
    pytest.mark.s3,
    pytest.mark.django_db(transaction=True, databases=["default", "sqlite"]),
]


def test_a_backup_is_locked_recorded_by_version_and_survives_an_attacker(
    ops_settings: Any,
    seeded_sqlite: dict[str, int],
    lock_bucket: str,
    s3_client: Any,
    age_key: tuple[Path, str],
) -> None:
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {"default": f"s3://{lock_bucket}/nzila?object_lock=compliance"},
    }
    before = datetime.now(UTC)
    record = run_backup("sqlite", "hourly")
    after = datetime.now(UTC)

    key = f"nzila/{record.storage_key}"
    manifest_key = key.split(".sqlite3")[0] + ".manifest.json"
    manifest = json.loads(s3_client.get_object(Bucket=lock_bucket, Key=manifest_key)["Body"].read())
    version = manifest["object"]["version_id"]
    for locked_key in (key, manifest_key):
        head = s3_client.head_object(Bucket=lock_bucket, Key=locked_key)
        until = head["ObjectLockRetainUntilDate"].astimezone(UTC)
        # RETENTION.MIN_AGE_MINUTES (60) + the default margin (1 day), from the write.
        lock = timedelta(minutes=60, days=1)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert before + lock - timedelta(seconds=2) <= until <= after + lock + timedelta(seconds=2)

    # The attacker, with the app's credentials: cannot delete the locked versions...
    with pytest.raises(ClientError, match="AccessDenied"):
        s3_client.delete_object(Bucket=lock_bucket, Key=key, VersionId=version)
    listing = s3_client.list_object_versions(Bucket=lock_bucket, Prefix=manifest_key)
    with pytest.raises(ClientError, match="AccessDenied"):
        s3_client.delete_object(
            Bucket=lock_bucket, Key=manifest_key, VersionId=listing["Versions"][0]["VersionId"]
        )
    from nzila_ops.backups.storages import get_storage

    with pytest.raises(ObjectLocked):
        get_storage().delete(record.storage_key)
    # ...so overwrites the key with garbage and delete-marks it.
    s3_client.put_object(Bucket=lock_bucket, Key=key, Body=b"encrypted by ransomware")
    s3_client.delete_object(Bucket=lock_bucket, Key=key)
    s3_client.put_object(Bucket=lock_bucket, Key=manifest_key, Body=b'{"format": "forged"}')

    report = verify_backup(record.name)
    assert report["sha256"] == record.sha256 == manifest["object"]["sha256"]

    # And the database, lost, comes back whole from the locked version.
    live = Path(connections["sqlite"].settings_dict["NAME"])
    before = table_counts("sqlite")
    connections["sqlite"].close()
    live.unlink()
    outcome = restore_database("sqlite", latest=True)
    assert outcome.verification["matches_manifest"]
    assert table_counts("sqlite") == before == seeded_sqlite
