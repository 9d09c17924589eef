"""A backup's copies (BackupCopy rows) are shown under it in the admin, read-only: each
target's status, attempts, when it was copied and why it failed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from nzila_ops.models import BackupCopy, BackupRecord


@pytest.mark.django_db
def test_a_backup_s_page_lists_its_copies_read_only(admin_client: Any) -> None:
    now = timezone.now()
    record = BackupRecord.objects.create(
        name="default-20261127T000000Z-hourly-abcd", database_alias="default",
        engine="postgresql", started_at=now, finished_at=now + timedelta(seconds=3),
        status="succeeded", stored_size=1000, raw_size=3000,
    )  # fmt: skip
    BackupCopy.objects.create(
        backup=record, storage_name="eu-west", status="succeeded", attempts=1, copied_at=now
    )
    BackupCopy.objects.create(
        backup=record, storage_name="tape-vault", status="failed", attempts=6,
        error="cannot reach S3 while writing in bucket 'nzila-dr'",
    )  # fmt: skip

    response = admin_client.get(f"/admin/nzila_ops/backuprecord/{record.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Copies" in page
    for text in ("eu-west", "tape-vault", "cannot reach S3 while writing in bucket", ">6<"):
        assert text in page.replace("&#x27;", "'"), text
    # Read-only: no form fields for the rows, no row can be added, no delete boxes.
    assert 'name="copies-0-storage_name"' not in page
    assert 'name="copies-MAX_NUM_FORMS" value="0"' in page
    assert "copies-0-DELETE" not in page
