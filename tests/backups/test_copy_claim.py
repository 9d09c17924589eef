"""Two workers never run the same copy: on a PostgreSQL catalog the copy holds an advisory lock
keyed on (backup, target) for its whole run, also when the catalog has no record of the backup
(a new host, a restored database); and a worker whose copy was taken over (its row stale) cannot
overwrite the new owner's row when it finishes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from nzila_ops.backups.copies import _claim, _finish, copy_backup
from nzila_ops.backups.copy_lock import CopyLock
from nzila_ops.backups.manifest import manifest_key
from nzila_ops.models import BackupCopy, BackupRecord
from tests.backups.copies_support import land_backup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("catalog", ["no record of the backup", "a record"])
def test_a_copy_another_worker_is_running_is_busy_even_without_a_catalog_row(
    second: Path, catalog: str
) -> None:
    manifest = land_backup(size=1 << 16)
    if catalog == "no record of the backup":
        BackupRecord.objects.filter(name=manifest["name"]).delete()
    other_worker = CopyLock(manifest["name"], "secondary")
    assert other_worker.acquire()
    try:
        outcome = copy_backup(manifest["name"], "secondary")
    finally:
        other_worker.release()

    assert outcome.result == "busy"
    assert not (second / manifest_key("default", manifest["name"])).exists()
    assert copy_backup(manifest["name"], "secondary").result == "copied"
    assert (second / manifest_key("default", manifest["name"])).exists()


def test_the_lock_is_released_after_a_copy_so_the_next_one_runs(second: Path) -> None:
    manifest = land_backup(size=1 << 16)
    assert copy_backup(manifest["name"], "secondary").result == "copied"
    lock = CopyLock(manifest["name"], "secondary")
    try:
        assert lock.acquire()
    finally:
        lock.release()


def test_a_worker_whose_copy_was_taken_over_cannot_overwrite_the_new_owner_s_row(
    second: Path,
) -> None:
    manifest = land_backup(size=1 << 16)
    first, claimed = _claim(manifest["name"], "secondary")
    assert claimed and first is not None
    # The first worker stops beating (a long GC pause, a partition): past STALE_AFTER, another
    # worker takes the copy over.
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        taker, claimed = _claim(manifest["name"], "secondary")
    assert claimed and taker is not None and taker.attempts == 2

    _finish(first, status=BackupCopy.Status.FAILED, error="cut short")  # the first wakes up

    row = BackupCopy.objects.get(pk=taker.pk)
    assert (row.status, row.attempts, row.error) == ("copying", 2, "")
    _finish(taker, status=BackupCopy.Status.SUCCEEDED, error="")
    assert BackupCopy.objects.get(pk=taker.pk).status == "succeeded"
