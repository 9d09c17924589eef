"""A region outage: the primary bucket's server is stopped, and the copy in the second region
is listed, verified, drilled and restored with ``--storage secondary``, from its own manifests.

Two moto servers are two regions: the primary is a separate process (its own buckets, killed
for the outage), the secondary the session's server in this process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from io import StringIO
from typing import Any

import boto3
import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from nzila_ops.backups.manifest import iter_manifests
from nzila_ops.backups.storages import get_storage
from nzila_ops.models import BackupCopy, DrillRecord, RestoreRecord
from tests.backups.helpers import APP_TABLES
from tests.support import pg
from tests.support.s3 import moto_server_process

pytestmark = [pytest.mark.postgres, pytest.mark.s3]
TABLES = [*APP_TABLES, "auth_user"]
SECOND_REGION = "eu-west-1"


class Regions:
    """Two storages in two "regions": ``default`` (primary) and ``secondary``."""

    def __init__(self, stack: ExitStack, primary_url: str, secondary_url: str) -> None:
        self.stack = stack
        self.primary_url = primary_url
        self.secondary_url = secondary_url
        self.secondary_bucket = ""

    def copy_latest(self) -> dict[str, Any]:
        """The newest backup, which COPY_STORAGES copied to the secondary as it landed."""
        manifest = next(iter_manifests(get_storage("default")))
        copy = BackupCopy.objects.get(backup__name=manifest["name"], storage_name="secondary")
        assert copy.status == "succeeded", copy.error
        return manifest

    def stop_primary(self) -> None:
        """The primary region goes away (its server process is killed)."""
        self.stack.close()

    def secondary_client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.secondary_url, region_name=SECOND_REGION)


@pytest.fixture
def regions(ops_settings: Any, aws_env: str) -> Iterator[Regions]:
    import uuid

    with ExitStack() as stack:
        primary_url = stack.enter_context(moto_server_process())
        primary_bucket = f"nzila-primary-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=primary_url, region_name="us-east-1").create_bucket(
            Bucket=primary_bucket
        )
        found = Regions(stack, primary_url, aws_env)
        found.secondary_bucket = f"nzila-secondary-{uuid.uuid4().hex[:8]}"
        found.secondary_client().create_bucket(
            Bucket=found.secondary_bucket,
            CreateBucketConfiguration={"LocationConstraint": SECOND_REGION},
        )
        ops_settings.NZILA_OPS = {
            **ops_settings.NZILA_OPS,
            "STORAGES": {
                # Two attempts: an unreachable primary is given up on quickly in these tests.
                "default": f"s3://{primary_bucket}/prod?endpoint_url={primary_url}"
                "&max_attempts=2&connect_timeout=2",
                "secondary": f"s3://{found.secondary_bucket}/copies?endpoint_url={aws_env}"
                f"&region={SECOND_REGION}",
            },
            # Every backup is copied to the secondary as it lands (nzila_ops.copy_backup, run
            # eagerly in tests), as in production.
            "COPY_STORAGES": ["secondary"],
        }
        yield found


def backup_and_copy(regions: Regions) -> dict[str, Any]:
    call_command("backup_database", stdout=StringIO())
    return regions.copy_latest()


def test_with_the_primary_region_gone_the_copy_restores_identical_contents(
    regions: Regions, seeded_postgres: dict, live_db: str
) -> None:
    manifest = backup_and_copy(regions)
    before = pg.snapshot(live_db, TABLES)
    regions.stop_primary()
    connections["default"].close()
    pg.drop_database(live_db)  # the database went with the region

    with pytest.raises(CommandError) as caught:
        call_command("restore_database", "--latest", "--no-input", stdout=StringIO())
    assert caught.value.returncode == 1 and "\n" not in str(caught.value)
    assert pg.databases_like(live_db) == []  # nothing was created
    listed = StringIO()
    call_command("list_backups", "--storage", "secondary", stdout=listed)  # no database either
    assert manifest["name"] in listed.getvalue()

    out = StringIO()
    call_command("restore_database", "--storage", "secondary", "--latest", "--no-input", stdout=out)

    assert pg.snapshot(live_db, TABLES) == before
    assert f"restored {manifest['name']} into {live_db}" in out.getvalue()
    restore = RestoreRecord.objects.get(result="succeeded")
    assert restore.backup_name == manifest["name"]
    assert restore.verification["storage"] == "secondary"
    assert restore.verification["matches_manifest"] is True
    # This restore is kept in the storage it read from, the one that answers.
    history = regions.secondary_client().list_objects_v2(
        Bucket=regions.secondary_bucket, Prefix="copies/_history/restores/"
    )
    assert len(history.get("Contents", [])) == 1


def test_the_copy_is_listed_and_verified_from_its_own_manifests_with_the_primary_down(
    regions: Regions, seeded_postgres: dict
) -> None:
    manifest = backup_and_copy(regions)
    regions.stop_primary()

    listed = StringIO()
    call_command("list_backups", "--storage", "secondary", stdout=listed)
    assert manifest["name"] in listed.getvalue()
    as_json = StringIO()
    call_command("list_backups", "--storage", "secondary", "--json", stdout=as_json)
    assert [b["name"] for b in json.loads(as_json.getvalue())] == [manifest["name"]]
    with pytest.raises(CommandError) as caught:
        call_command("list_backups", stdout=StringIO())  # the primary: unreachable
    assert caught.value.returncode == 1 and "\n" not in str(caught.value)

    verified = StringIO()
    call_command("verify_backup", "--storage", "secondary", "--latest", stdout=verified)
    assert verified.getvalue().startswith(f"OK {manifest['name']}: ")
    assert "(storage secondary)" in verified.getvalue()


def test_a_drill_from_the_copy_proves_it_restores_and_records_the_storage(
    regions: Regions, seeded_postgres: dict, live_db: str
) -> None:
    manifest = backup_and_copy(regions)
    regions.stop_primary()

    out = StringIO()
    call_command("run_dr_drill", "--storage", "secondary", "--json", stdout=out)

    summary = json.loads(out.getvalue())
    assert summary["result"] == "passed", summary
    assert summary["storage"] == "secondary" and summary["backup"] == manifest["name"]
    record = DrillRecord.objects.get()
    assert record.result == "passed" and record.verification["storage"] == "secondary"
    assert record.history_key and record.history_key.startswith("_history/drills/")
    assert get_storage("secondary").exists(record.history_key)
    assert pg.databases_like(f"{live_db}_") == []


def test_a_tampered_copy_is_refused_and_the_live_database_is_untouched(
    regions: Regions, seeded_postgres: dict, live_db: str
) -> None:
    manifest = backup_and_copy(regions)
    call_command("seed_demo", vehicles=30, stdout=StringIO())  # the live data moved on
    live_now = pg.snapshot(live_db, TABLES)
    client = regions.secondary_client()
    key = f"copies/{manifest['object']['key']}"
    body = bytearray(client.get_object(Bucket=regions.secondary_bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0xFF  # one byte changed in the copy, its manifest left alone
    client.put_object(Bucket=regions.secondary_bucket, Key=key, Body=bytes(body))

    with pytest.raises(CommandError, match="failed its checksum") as caught:
        call_command("verify_backup", "--storage", "secondary", "--latest", stdout=StringIO())
    assert caught.value.returncode == 1
    with pytest.raises(CommandError, match="failed its checksum") as caught:
        call_command(
            "restore_database", "--storage", "secondary", "--latest", "--no-input",
            stdout=StringIO(),
        )  # fmt: skip
    assert caught.value.returncode == 1 and "\n" not in str(caught.value)

    assert pg.snapshot(live_db, TABLES) == live_now
    assert pg.databases_like(f"{live_db}_") == []
    failed = RestoreRecord.objects.get()
    assert failed.result == "failed" and failed.verification == {"storage": "secondary"}
    # The primary's object is intact: the same backup still restores from there.
    call_command("verify_backup", manifest["name"], stdout=StringIO())


def test_after_a_restore_from_the_copy_the_catalog_still_indexes_the_primary(
    regions: Regions, seeded_postgres: dict, live_db: str
) -> None:
    from nzila_ops.models import BackupRecord

    first = backup_and_copy(regions)
    call_command("seed_demo", vehicles=20, stdout=StringIO())
    second = backup_and_copy(regions)  # taken after `first`: the restored database lacks it

    call_command(
        "restore_database", "--storage", "secondary", "--backup", first["name"], "--no-input",
        stdout=StringIO(),
    )  # fmt: skip

    # Rebuilt from the primary (it answers), whose index the catalog is: both backups, both
    # of the primary, not of the storage the restore read.
    rows = dict(BackupRecord.objects.values_list("name", "storage_name"))
    assert rows == {first["name"]: "default", second["name"]: "default"}
    assert set(BackupRecord.objects.values_list("status", flat=True)) == {"succeeded"}


def test_an_overwritten_copy_in_a_versioned_bucket_restores_its_own_recorded_version(
    regions: Regions, seeded_postgres: dict, live_db: str
) -> None:
    client = regions.secondary_client()
    client.put_bucket_versioning(
        Bucket=regions.secondary_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    manifest = backup_and_copy(regions)
    before = pg.snapshot(live_db, TABLES)
    copy_manifest = json.loads(
        get_storage("secondary").read_bytes(f"default/{manifest['name']}.manifest.json")
    )
    assert copy_manifest["object"]["version_id"]  # the copy's own version, not the primary's
    assert copy_manifest["object"]["version_id"] != manifest["object"].get("version_id")
    key = f"copies/{manifest['object']['key']}"
    client.put_object(Bucket=regions.secondary_bucket, Key=key, Body=b"encrypted by an attacker")
    regions.stop_primary()
    call_command("seed_demo", vehicles=25, stdout=StringIO())

    call_command(
        "restore_database", "--storage", "secondary", "--latest", "--no-input", stdout=StringIO()
    )

    assert pg.snapshot(live_db, TABLES) == before


def test_a_copy_made_by_hand_naming_another_buckets_version_still_verifies(
    regions: Regions, seeded_postgres: dict
) -> None:
    manifest = backup_and_copy(regions)
    secondary = get_storage("secondary")
    key = f"default/{manifest['name']}.manifest.json"
    by_hand = json.loads(secondary.read_bytes(key))
    # As `aws s3 sync` from a versioned bucket would leave it: a version of the primary's.
    by_hand["object"]["version_id"] = "3sL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"
    secondary.write_bytes(key, json.dumps(by_hand).encode())
    regions.stop_primary()

    out = StringIO()
    call_command("verify_backup", "--storage", "secondary", manifest["name"], stdout=out)

    assert out.getvalue().startswith(f"OK {manifest['name']}: ")
