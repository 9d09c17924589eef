"""The admin shows the catalog, restores and drills read-only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from nzila_ops.models import BackupRecord, DrillRecord, RestoreRecord


@pytest.mark.django_db
def test_admin_lists_backups_restores_and_drills_without_edit_rights(admin_client: Any) -> None:
    now = timezone.now()
    BackupRecord.objects.create(
        name="default-20261127T000000Z-hourly-abcd",
        database_alias="default",
        engine="postgresql",
        started_at=now,
        finished_at=now + timedelta(seconds=3),
        status="succeeded",
        stored_size=1000,
        raw_size=3000,
    )
    RestoreRecord.objects.create(
        backup_name="b1",
        database_alias="default",
        target="nzila",
        started_by="ops",
        started_at=now,
        finished_at=now + timedelta(seconds=9),
        result="succeeded",
    )
    DrillRecord.objects.create(
        backup_name="b1",
        database_alias="default",
        started_at=now,
        finished_at=now + timedelta(seconds=5),
        rto_seconds=5,
        rto_target_seconds=3600,
        result="passed",
    )
    pages = {
        "backuprecord": "default-20261127T000000Z-hourly-abcd",
        "restorerecord": "9 s",
        "drillrecord": "passed",
    }
    for model, text in pages.items():
        response = admin_client.get(f"/admin/nzila_ops/{model}/")
        assert response.status_code == 200 and text in response.content.decode()
        assert admin_client.get(f"/admin/nzila_ops/{model}/add/").status_code == 403


@pytest.mark.django_db
def test_history_records_cannot_be_deleted_from_the_admin(admin_client: Any) -> None:
    """Deleting a catalog row would look like deleting the backup (it stays in storage), and
    restores and drills are the audit trail: no delete action, no delete page."""
    now = timezone.now()
    records = {
        "backuprecord": BackupRecord.objects.create(
            name="default-20261127T000000Z-hourly-abcd",
            database_alias="default",
            engine="postgresql",
            started_at=now,
            finished_at=now,
            status="succeeded",
        ),
        "restorerecord": RestoreRecord.objects.create(
            backup_name="b1",
            database_alias="default",
            target="nzila",
            started_by="ops",
            started_at=now,
            finished_at=now,
            result="succeeded",
        ),
        "drillrecord": DrillRecord.objects.create(
            backup_name="b1",
            database_alias="default",
            started_at=now,
            finished_at=now,
            rto_target_seconds=3600,
            result="passed",
        ),
    }
    for model, record in records.items():
        changelist = f"/admin/nzila_ops/{model}/"
        page = admin_client.get(changelist).content.decode()
        assert "Delete selected" not in page and 'value="delete_selected"' not in page
        response = admin_client.post(
            changelist,
            {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"},
        )
        assert response.status_code in (200, 302)
        assert admin_client.get(f"{changelist}{record.pk}/delete/").status_code == 403
        assert (
            admin_client.post(f"{changelist}{record.pk}/delete/", {"post": "yes"}).status_code
            == 403
        )
        assert type(record).objects.filter(pk=record.pk).exists(), model
