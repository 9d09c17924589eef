"""Immutable backups: S3 Object Lock on a moto bucket created with object lock, over HTTP.

What moto (5.2) enforces, and so what these tests can prove: a delete naming a locked version is
refused (AccessDenied), per-object retention set on PUT and by PutObjectRetention is kept and
shown by HEAD. What it does not: it accepts a PutObjectRetention that shortens a lock (S3
refuses it without s3:BypassGovernanceRetention; our extend_lock never asks for it: tested
here on our side), drops the lock headers of multipart uploads (so the storage re-applies the
lock after completion, tested), and has no GetObjectRetention (the lock is read from HEAD).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from nzila_ops.backups.storages import get_storage
from nzila_ops.backups.storages.s3 import S3Storage
from nzila_ops.exceptions import ConfigurationError, ObjectLocked, StorageError

pytestmark = pytest.mark.s3

MB = 1 << 20


@pytest.fixture
def locked(settings: Any, lock_bucket: str) -> S3Storage:
    """A governance-locked storage, RETENTION.MIN_AGE_MINUTES 60 and a 1-day margin."""
    settings.NZILA_OPS = {"STORAGES": {"default": f"s3://{lock_bucket}/p?object_lock=governance"}}
    storage = get_storage("default")
    assert isinstance(storage, S3Storage)
    return storage


@pytest.fixture(params=["governance", "compliance"])
def any_mode(settings: Any, lock_bucket: str, request: pytest.FixtureRequest) -> S3Storage:
    """A locked storage in each mode: what the app cannot do must hold in compliance mode too,
    whose guarantee does not rest on IAM (governance's does: no s3:BypassGovernanceRetention)."""
    url = f"s3://{lock_bucket}/p?object_lock={request.param}"
    settings.NZILA_OPS = {"STORAGES": {"default": url}}
    storage = get_storage("default")
    assert isinstance(storage, S3Storage)
    return storage


def lock_of(client: Any, bucket: str, key: str, version: str | None = None) -> tuple[str, datetime]:
    head = client.head_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))
    return head["ObjectLockMode"], head["ObjectLockRetainUntilDate"].astimezone(UTC)


def near(actual: datetime, expected: datetime) -> bool:
    # S3 dates have whole seconds; the write happened between two clock readings.
    return abs(actual - expected) < timedelta(seconds=5)


def test_a_small_and_a_multipart_object_are_both_written_locked(
    locked: S3Storage, s3_client: Any, lock_bucket: str
) -> None:
    expected = datetime.now(UTC) + timedelta(minutes=60) + timedelta(days=1)
    locked.write_bytes("db/m.json", b"{}")
    writer = locked.open_writer("db/big.bin")
    writer.write(b"x" * (11 * MB))  # three parts: moto drops the upload's lock headers
    writer.commit()
    for key, version in (("p/db/m.json", None), ("p/db/big.bin", writer.version_id)):
        mode, until = lock_of(s3_client, lock_bucket, key, version)
        assert mode == "GOVERNANCE" and near(until, expected)
    assert writer.version_id and locked.lock_until("db/big.bin", writer.version_id) is not None


def test_compliance_mode_comes_from_the_option(
    settings: Any, lock_bucket: str, s3_client: Any
) -> None:
    settings.NZILA_OPS = {
        "STORAGES": {"c": f"s3://{lock_bucket}/p?object_lock=COMPLIANCE&lock_margin_days=3"},
        "RETENTION": {"MIN_AGE_MINUTES": 30},
    }
    storage = get_storage("c")
    assert storage.object_lock_mode == "COMPLIANCE"
    storage.write_bytes("db/m.json", b"{}")
    mode, until = lock_of(s3_client, lock_bucket, "p/db/m.json")
    assert mode == "COMPLIANCE"
    assert near(until, datetime.now(UTC) + timedelta(days=3, minutes=30))


def test_the_app_cannot_delete_a_locked_version_and_the_storage_says_until_when(
    any_mode: S3Storage, s3_client: Any, lock_bucket: str
) -> None:
    locked = any_mode
    writer = locked.open_writer("db/a.bin")
    writer.write(b"backup")
    writer.commit()
    with pytest.raises(ClientError, match="AccessDenied"):
        s3_client.delete_object(Bucket=lock_bucket, Key="p/db/a.bin", VersionId=writer.version_id)
    with pytest.raises(ObjectLocked, match=r"db/a\.bin is locked until 20\d\d-\d\d-\d\d") as err:
        locked.delete("db/a.bin")
    assert err.value.until == locked.lock_until("db/a.bin")
    assert locked.read_bytes("db/a.bin") == b"backup"


def test_a_compliance_lock_holds_against_a_governance_bypass(
    settings: Any, lock_bucket: str, s3_client: Any
) -> None:
    # moto lets BypassGovernanceRetention delete a governance-locked version whatever the
    # policy (it does not check s3:BypassGovernanceRetention): governance is proved by IAM on
    # AWS only (docs/backups.md). Compliance refuses it, whoever asks.
    settings.NZILA_OPS = {"STORAGES": {"c": f"s3://{lock_bucket}/p?object_lock=compliance"}}
    storage = get_storage("c")
    writer = storage.open_writer("db/a.bin")
    writer.write(b"backup")
    writer.commit()
    with pytest.raises(ClientError, match="AccessDenied"):
        s3_client.delete_object(
            Bucket=lock_bucket, Key="p/db/a.bin", VersionId=writer.version_id,
            BypassGovernanceRetention=True,
        )  # fmt: skip
    with storage.open_reader("db/a.bin", writer.version_id) as stream:
        assert stream.read() == b"backup"


def test_an_overwrite_or_a_delete_marker_leaves_the_locked_version_readable(
    any_mode: S3Storage, s3_client: Any, lock_bucket: str
) -> None:
    locked = any_mode
    writer = locked.open_writer("db/a.bin")
    writer.write(b"the real backup")
    writer.commit()
    s3_client.put_object(Bucket=lock_bucket, Key="p/db/a.bin", Body=b"ransom note")
    with locked.open_reader("db/a.bin", writer.version_id) as stream:
        assert stream.read() == b"the real backup"
    s3_client.delete_object(Bucket=lock_bucket, Key="p/db/a.bin")  # a delete marker
    assert not locked.exists("db/a.bin")
    with locked.open_reader("db/a.bin", writer.version_id) as stream:
        assert stream.read() == b"the real backup"


def test_deleting_an_expired_lock_removes_every_version(
    settings: Any, lock_bucket: str, s3_client: Any
) -> None:
    # No minimum age, no margin: the lock written is already over.
    settings.NZILA_OPS = {
        "STORAGES": {"d": f"s3://{lock_bucket}/p?object_lock=governance&lock_margin_days=0"},
        "RETENTION": {"MIN_AGE_MINUTES": 0},
    }
    storage = get_storage("d")
    storage.write_bytes("db/m.json", b"one")
    storage.write_bytes("db/m.json", b"two")
    s3_client.delete_object(Bucket=lock_bucket, Key="p/db/m.json")  # a delete marker too
    storage.delete("db/m.json")
    listing = s3_client.list_object_versions(Bucket=lock_bucket, Prefix="p/db/m.json")
    assert listing.get("Versions", []) == [] and listing.get("DeleteMarkers", []) == []
    storage.delete("db/m.json")  # deleting a missing key is fine


def test_locks_are_only_ever_lengthened(
    locked: S3Storage, s3_client: Any, lock_bucket: str
) -> None:
    locked.write_bytes("db/m.json", b"{}")
    first = locked.lock_until("db/m.json")
    assert first is not None
    later = first + timedelta(days=30)
    locked.extend_lock("db/m.json", later)
    assert near(lock_of(s3_client, lock_bucket, "p/db/m.json")[1], later)
    # moto would shorten a lock if asked (S3 refuses without BypassGovernanceRetention): the
    # storage never asks.
    locked.extend_lock("db/m.json", first)
    assert near(lock_of(s3_client, lock_bucket, "p/db/m.json")[1], later)


def test_an_object_keeps_the_mode_it_was_written_with(
    settings: Any, lock_bucket: str, s3_client: Any
) -> None:
    settings.NZILA_OPS = {
        "STORAGES": {
            "c": f"s3://{lock_bucket}/p?object_lock=compliance",
            "g": f"s3://{lock_bucket}/p?object_lock=governance",
        }
    }
    get_storage("c").write_bytes("db/m.json", b"{}")
    get_storage("g").extend_lock("db/m.json", datetime.now(UTC) + timedelta(days=90))
    assert lock_of(s3_client, lock_bucket, "p/db/m.json")[0] == "COMPLIANCE"


def test_the_check_writes_reads_and_deletes_a_probe_leaving_nothing(
    locked: S3Storage, s3_client: Any, lock_bucket: str
) -> None:
    locked.check()
    listing = s3_client.list_object_versions(Bucket=lock_bucket)
    assert listing.get("Versions", []) == [] and listing.get("DeleteMarkers", []) == []
    locked.check_immutability()


def test_a_bucket_without_object_lock_is_reported_when_the_storage_asks_for_it(
    settings: Any, s3_bucket: str
) -> None:
    settings.NZILA_OPS = {"STORAGES": {"default": f"s3://{s3_bucket}/p?object_lock=governance"}}
    storage = get_storage("default")
    with pytest.raises(StorageError, match=f"bucket '{s3_bucket}' has no Object Lock config"):
        storage.check_immutability()
    S3Storage("plain", bucket=s3_bucket).check_immutability()  # not asked: nothing to say


def test_a_default_retention_rule_is_reported_and_the_probe_it_locks_is_said(
    locked: S3Storage, s3_client: Any, lock_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    s3_client.put_object_lock_configuration(
        Bucket=lock_bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    with pytest.raises(StorageError, match="has a default retention rule"):
        locked.check_immutability()
    with caplog.at_level(logging.WARNING, logger="nzila_ops.backups"):
        locked.check()  # the credentials can write and read: the check itself passes
    assert "kept until" in caplog.text and "default retention rule" in caplog.text


@pytest.mark.parametrize(
    "query,message",
    [
        ("object_lock=forever", "object_lock must be governance or compliance, not 'forever'"),
        ("lock_margin_days=2", "lock_margin_days needs object_lock"),
        ("object_lock=governance&lock_margin_days=-1", "lock_margin_days must be a number"),
        ("object_lock=governance&lock_margin_days=soon", "lock_margin_days must be a number"),
    ],
)
def test_wrong_lock_options_are_one_clear_line(settings: Any, query: str, message: str) -> None:
    settings.NZILA_OPS = {"STORAGES": {"default": f"s3://bucket/p?{query}"}}
    with pytest.raises(ConfigurationError, match=message):
        get_storage("default")


def test_a_manifest_of_a_locked_backup_records_its_version(
    locked: S3Storage, s3_client: Any, lock_bucket: str
) -> None:
    from nzila_ops.backups.manifest import write_manifest

    # What service.run_backup does after the object's commit.
    writer = locked.open_writer("db/a.bin")
    writer.write(b"backup")
    writer.commit()
    manifest = {"database_alias": "db", "name": "a", "object": {"version_id": writer.version_id}}
    write_manifest(locked, manifest)
    stored = json.loads(locked.read_bytes("db/a.manifest.json"))
    listing = s3_client.list_object_versions(Bucket=lock_bucket, Prefix="p/db/a.bin")
    assert stored["object"]["version_id"] == listing["Versions"][0]["VersionId"]


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    mode=st.text(max_size=20),
    margin=st.one_of(st.none(), st.text(max_size=12), st.floats(allow_nan=True)),
)
def test_any_lock_options_build_a_storage_or_are_refused_in_one_line(
    mode: str, margin: str | float | None
) -> None:
    # What crosses the boundary from a URL's query string or a dict's OPTIONS.
    try:
        storage = S3Storage("fuzz", bucket="b", object_lock=mode, lock_margin_days=margin)
    except ConfigurationError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("backup storage 'fuzz'")
        return
    assert storage.object_lock_mode in (None, "GOVERNANCE", "COMPLIANCE")
    assert timedelta(0) <= storage.lock_margin <= timedelta(days=36500)
    assert storage.object_lock_mode is not None or margin is None


@hypothesis_settings(max_examples=100, deadline=None)
@given(query=st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_any_query_string_on_a_storage_url_builds_it_or_is_one_line(query: str) -> None:
    from urllib.parse import quote

    from django.test import override_settings

    url = f"s3://bucket/p?object_lock={quote(query)}&lock_margin_days={quote(query)}"
    with override_settings(NZILA_OPS={"STORAGES": {"default": url}}):
        try:
            get_storage("default")
        except ConfigurationError as exc:
            assert "\n" not in str(exc)


def test_a_forged_or_delete_marked_manifest_is_read_as_first_written(
    locked: S3Storage, s3_client: Any, lock_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    from nzila_ops.backups.manifest import MANIFEST_FORMAT, find_manifest, write_manifest

    name = "default-20261127T090000Z-hourly-0a0a"
    genuine = {
        "format": MANIFEST_FORMAT,
        "name": name,
        "database_alias": "default",
        "n": 1,
        "finished_at": "2026-11-27T09:00:30+00:00",
        "object": {"key": f"default/{name}.bin", "stored_size": 1, "sha256": "0" * 64},
    }
    write_manifest(locked, genuine)
    key = f"p/default/{name}.manifest.json"
    # Credentials stolen from the app can put a manifest steering a restore elsewhere...
    forged = json.dumps({**genuine, "n": 2, "object": {"key": "default/evil.bin"}})
    s3_client.put_object(Bucket=lock_bucket, Key=key, Body=forged.encode())
    with caplog.at_level(logging.WARNING, logger="nzila_ops.backups"):
        assert find_manifest(locked, name)["n"] == 1
    assert "was overwritten 1 time(s)" in caplog.text
    # ...or hide it behind a delete marker: it is still found by its name.
    s3_client.delete_object(Bucket=lock_bucket, Key=key)
    assert find_manifest(locked, name)["n"] == 1


def test_a_locked_write_to_a_bucket_without_object_lock_fails_saying_why(
    settings: Any, s3_bucket: str, s3_client: Any
) -> None:
    settings.NZILA_OPS = {"STORAGES": {"default": f"s3://{s3_bucket}/p?object_lock=governance"}}
    storage = get_storage("default")
    storage.check()  # the probe carries no lock: writing and reading work
    message = f"S3 bucket '{s3_bucket}' has no Object Lock configuration: objects cannot be"
    with pytest.raises(StorageError, match=message):
        storage.write_bytes("db/m.json", b"{}")
    writer = storage.open_writer("db/big.bin")
    writer.write(b"x" * (6 * MB))
    with pytest.raises(StorageError, match=message):
        writer.commit()
    assert s3_client.list_objects_v2(Bucket=s3_bucket).get("Contents", []) == []


def test_an_overwritten_manifest_s_genuine_version_is_the_one_locked(
    locked: S3Storage, s3_client: Any, lock_bucket: str
) -> None:
    locked.write_bytes("db/m.json", b"genuine")
    genuine = s3_client.list_object_versions(Bucket=lock_bucket)["Versions"][0]["VersionId"]
    s3_client.put_object(Bucket=lock_bucket, Key="p/db/m.json", Body=b"forged")  # no lock
    later = datetime.now(UTC) + timedelta(days=40)
    locked.extend_lock("db/m.json", later)
    assert near(lock_of(s3_client, lock_bucket, "p/db/m.json", genuine)[1], later)
    assert (
        locked.lock_until("db/m.json") == lock_of(s3_client, lock_bucket, "p/db/m.json", genuine)[1]
    )
