"""Retention in an object-locked bucket: the locks of the backups it keeps are extended to the
date the plan keeps them (plus the margin), a backup the plan deletes but a lock still holds is
skipped and said ("kept: locked until ..."), and deleted by a run after that date.

moto's server runs in this process, so time-machine moves its clock too: its lock checks see
the travelled time, as S3's would see the real one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

from nzila_ops.backups.manifest import MANIFEST_FORMAT, write_manifest
from nzila_ops.backups.retention import enforce_retention
from nzila_ops.backups.storages import BackupStorage, get_storage

pytestmark = [pytest.mark.s3, pytest.mark.django_db]

NOW = datetime(2026, 11, 27, 10, 40, tzinfo=UTC)


@pytest.fixture
def storage(settings: Any, lock_bucket: str) -> BackupStorage:
    """Governance lock, default margin (1 day), default policy (an hour's minimum age)."""
    settings.NZILA_OPS = {"STORAGES": {"default": f"s3://{lock_bucket}/n?object_lock=governance"}}
    return get_storage()


def backup_at(
    storage: BackupStorage,
    at: datetime,
    object_key: str | None = None,
    version: str | None = None,
) -> str:
    """A backup of 'default' written at ``at`` (locked from then), object first, manifest last."""
    name = f"default-{at:%Y%m%dT%H%M%S}Z-hourly-0a0a"
    key = object_key or f"default/{name}.sqlite3.zst"
    with time_machine.travel(at):
        if object_key is None:
            writer = storage.open_writer(key)
            writer.write(b"dump of " + name.encode())
            writer.commit()
            version = version or writer.version_id
        manifest = {
            "format": MANIFEST_FORMAT,
            "name": name,
            "database_alias": "default",
            "finished_at": at.isoformat(),
            "storage": {"name": storage.name},
            "object": {
                "key": key,
                # A valid manifest's shape (manifest.manifest_fault); these bytes are not read.
                "stored_size": len(name),
                "sha256": "0" * 64,
                **({"version_id": version} if version else {}),
            },
        }
        write_manifest(storage, manifest)
    return name


def locked_until(storage: BackupStorage, name: str) -> tuple[datetime | None, datetime | None]:
    return (
        storage.lock_until(f"default/{name}.sqlite3.zst"),
        storage.lock_until(f"default/{name}.manifest.json"),
    )


def test_retention_extends_the_keepers_and_skips_what_a_lock_still_holds(
    storage: BackupStorage,
) -> None:
    day_keeper = backup_at(storage, datetime(2026, 11, 25, 23, 0, tzinfo=UTC))
    superseded = backup_at(storage, datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    hour_keeper = backup_at(storage, datetime(2026, 11, 27, 9, 30, tzinfo=UTC))
    newest = backup_at(storage, datetime(2026, 11, 27, 10, 20, tzinfo=UTC))

    out = StringIO()
    with time_machine.travel(NOW):
        call_command("enforce_retention", "--database", "default", stdout=out)

    # Nov 25's day leaves the 7-day window on Dec 2; the 09:00 hour the 24-hour one on Nov 28
    # at 09:00; the newest is an hour old at 11:20. Each plus the 1-day margin, object and
    # manifest alike.
    expected = {
        day_keeper: datetime(2026, 12, 3, 0, 0, tzinfo=UTC),
        hour_keeper: datetime(2026, 11, 29, 9, 0, tzinfo=UTC),
        newest: datetime(2026, 11, 28, 11, 20, tzinfo=UTC),
    }
    for name, until in expected.items():
        assert locked_until(storage, name) == (until, until), name
    # Superseded within its hour: the plan deletes it, its write lock (an hour + a day) holds.
    line = next(line for line in out.getvalue().splitlines() if superseded in line)
    assert "kept: locked until 2026-11-28 10:00 UTC" in line
    assert storage.exists(f"default/{superseded}.manifest.json")
    assert storage.exists(f"default/{superseded}.sqlite3.zst")

    # A day later: its lock is over and it goes; the 09:30 backup has left the plan (its hour
    # is past the window) but is locked for the margin, so it stays, said, until then.
    with time_machine.travel(datetime(2026, 11, 28, 10, 5, tzinfo=UTC)):
        run = enforce_retention("default")
    assert run.deleted == [superseded]
    assert not storage.exists(f"default/{superseded}.sqlite3.zst")
    assert run.locked == {hour_keeper: datetime(2026, 11, 29, 9, 0, tzinfo=UTC)}
    assert run.failed == {} and run.lock_failed == {}
    listed = json.loads(json.dumps(run.as_dict()))
    assert listed["locked"] == {hour_keeper: "2026-11-29T09:00:00+00:00"}


def test_a_lock_that_cannot_be_extended_is_loud_and_the_run_goes_on(
    storage: BackupStorage,
) -> None:
    # A manifest whose object is gone (deleted by hand): its lock cannot be extended.
    gone = backup_at(storage, datetime(2026, 11, 25, 23, 0, tzinfo=UTC), "default/gone.bin")
    kept = backup_at(storage, datetime(2026, 11, 27, 9, 30, tzinfo=UTC))
    out = StringIO()
    with time_machine.travel(NOW), pytest.raises(CommandError) as err:
        call_command("enforce_retention", "--database", "default", stdout=out)
    assert "1 kept backup(s) could not have their object lock extended" in str(err.value)
    assert gone in str(err.value)
    until = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    assert locked_until(storage, kept) == (until, until)


def test_a_dry_run_extends_nothing(storage: BackupStorage) -> None:
    name = backup_at(storage, datetime(2026, 11, 25, 23, 0, tzinfo=UTC))
    before = locked_until(storage, name)
    with time_machine.travel(NOW):
        run = enforce_retention("default", dry_run=True)
    assert run.locks_extended == {} and locked_until(storage, name) == before


def test_a_manifest_naming_another_bucket_s_version_locks_the_current_one(
    storage: BackupStorage, caplog: pytest.LogCaptureFixture
) -> None:
    # A manifest copied with `aws s3 sync` names the version of the bucket it came from.
    foreign = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nrjfkd"
    name = backup_at(storage, datetime(2026, 11, 27, 9, 30, tzinfo=UTC), version=foreign)
    with time_machine.travel(NOW):
        run = enforce_retention("default")
    assert run.lock_failed == {}
    until = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    assert locked_until(storage, name) == (until, until)
    assert f"has no version {foreign}" in caplog.text
