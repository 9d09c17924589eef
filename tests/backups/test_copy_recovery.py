"""The copy incident resolves only when every reported copy is in place: a reported copy that is
pending again, being copied, or failed keeps it open; succeeded or deleted (by the target's
retention) copies do not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from nzila_ops.backups.copies import report_recovery
from nzila_ops.models import BackupCopy, BackupRecord

pytestmark = pytest.mark.django_db


def reported_copy(name: str, status: str) -> BackupCopy:
    record = BackupRecord.objects.create(
        name=name,
        database_alias="default",
        engine="postgresql",
        status="succeeded",
        started_at=timezone.now() - timedelta(minutes=5),
        finished_at=timezone.now(),
    )
    return BackupCopy.objects.create(
        backup=record, storage_name="secondary", status=status, failure_reported=True
    )


@pytest.mark.parametrize("status", ["pending", "copying", "failed"])
def test_a_reported_copy_still_missing_keeps_the_incident_open(status: str) -> None:
    reported_copy("default-20261129T100000Z-hourly-aaaa", "succeeded")
    missing = reported_copy("default-20261129T110000Z-hourly-bbbb", status)

    assert report_recovery("default", timezone.now()) is False
    missing.refresh_from_db()
    assert missing.failure_reported is True


@pytest.mark.parametrize("status", ["succeeded", "deleted"])
def test_once_every_reported_copy_is_in_place_or_deleted_it_recovers_once(status: str) -> None:
    reported_copy("default-20261129T100000Z-hourly-aaaa", "succeeded")
    reported_copy("default-20261129T110000Z-hourly-bbbb", status)

    assert report_recovery("default", timezone.now()) is True
    assert report_recovery("default", timezone.now()) is False
    assert not BackupCopy.objects.filter(failure_reported=True).exists()
