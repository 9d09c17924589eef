"""A copy is recorded ``succeeded`` only once its bytes were checked by us: a target that
already holds the backup's manifest and an object of the right size but other bytes is copied
again, by copy_backup and by copy_backups, instead of being recorded as verified."""

from __future__ import annotations

import hashlib
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from nzila_ops.backups.copies import copy_backup
from nzila_ops.backups.manifest import manifest_key, write_manifest
from nzila_ops.backups.storages import get_storage
from nzila_ops.models import BackupCopy, BackupRecord
from tests.backups.copies_support import land_backup

pytestmark = pytest.mark.django_db(transaction=True)


def plant(manifest: dict[str, Any], data: bytes, with_manifest: bool = True) -> None:
    """What a broken earlier copy (or another writer) left on the target."""
    target = get_storage("secondary")
    writer = target.open_writer(manifest["object"]["key"])
    writer.write(data)
    writer.commit()
    if with_manifest:
        write_manifest(target, manifest)


def target_sha256(second: Path, manifest: dict[str, Any]) -> str:
    return hashlib.sha256((second / manifest["object"]["key"]).read_bytes()).hexdigest()


def test_a_target_object_of_the_right_size_but_other_bytes_is_copied_again(
    second: Path,
) -> None:
    manifest = land_backup(size=1 << 20)
    plant(manifest, b"\0" * (1 << 20))

    outcome = copy_backup(manifest["name"], "secondary")

    assert outcome.result == "copied"
    assert target_sha256(second, manifest) == manifest["object"]["sha256"]
    row = BackupCopy.objects.get(backup__name=manifest["name"])
    assert (row.status, row.sha256) == ("succeeded", manifest["object"]["sha256"])


def test_a_whole_copy_already_there_is_read_and_recorded_present(second: Path) -> None:
    manifest = land_backup(size=1 << 20)
    source = get_storage()
    plant(manifest, source.read_bytes(manifest["object"]["key"]))

    outcome = copy_backup(manifest["name"], "secondary")

    assert (outcome.result, outcome.sha256) == ("present", manifest["object"]["sha256"])
    assert BackupCopy.objects.get(backup__name=manifest["name"]).status == "succeeded"


@pytest.mark.parametrize("fault", ["other bytes", "short object", "no object"])
def test_copy_backups_does_not_take_a_listed_manifest_for_a_verified_copy(
    second: Path, fault: str
) -> None:
    manifest = land_backup(size=1 << 20)
    if fault == "other bytes":
        plant(manifest, b"\1" * (1 << 20))
    elif fault == "short object":
        plant(manifest, b"\1" * 10)
    else:
        write_manifest(get_storage("secondary"), manifest)
    record = BackupRecord.objects.get(name=manifest["name"])
    BackupCopy.objects.create(backup=record, storage_name="secondary", status="failed")

    call_command("copy_backups", stdout=StringIO())

    assert target_sha256(second, manifest) == manifest["object"]["sha256"]
    assert (second / manifest_key("default", manifest["name"])).exists()
    row = BackupCopy.objects.get(backup__name=manifest["name"])
    assert (row.status, row.sha256) == ("succeeded", manifest["object"]["sha256"])
