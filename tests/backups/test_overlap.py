"""Overlapping runs are harmless; a dead worker's record does not block the next backup."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from nzila_ops.backups.service import run_backup
from nzila_ops.models import BackupRecord
from tests.support.parked import ParkedBackup

pytestmark = pytest.mark.postgres


def test_two_backups_at_once_one_runs_the_other_is_skipped(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    # The first backup is inside pg_dump, holding the claim.
    with ParkedBackup(), pytest.raises(CommandError) as caught:
        call_command("backup_database", stdout=StringIO())
    assert caught.value.returncode == 3
    assert "skipped: another backup of 'default' is running" in str(caught.value)
    statuses = sorted(BackupRecord.objects.values_list("status", flat=True))
    assert statuses == ["skipped", "succeeded"]
    skipped = BackupRecord.objects.get(status="skipped")
    running_name = BackupRecord.objects.get(status="succeeded").name
    assert running_name in skipped.error


def test_the_celery_task_reports_skipped_instead_of_failing(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    from nzila_ops.tasks import backup_database_task

    with ParkedBackup():
        result = backup_database_task.apply(args=["default", "hourly"]).get()
    assert result["status"] == "skipped"


def test_a_stale_running_record_is_reaped_and_does_not_block(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    dead = BackupRecord.objects.create(
        name="default-dead-worker",
        database_alias="default",
        engine="postgresql",
        status="running",
        started_at=timezone.now() - timedelta(hours=4),
    )
    record = run_backup("default")
    assert record.status == "succeeded"
    dead.refresh_from_db()
    assert dead.status == "failed" and "worker died" in dead.error


def test_a_recent_running_record_still_holds_the_claim(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    BackupRecord.objects.create(
        name="default-busy",
        database_alias="default",
        engine="postgresql",
        status="running",
        started_at=timezone.now() - timedelta(minutes=5),
    )
    with pytest.raises(CommandError, match="default-busy"):
        call_command("backup_database", stdout=StringIO())


def test_transient_storage_errors_are_retried_permanent_ones_are_not(
    ops_settings: Any, seeded_postgres: dict, aws_env: str
) -> None:
    from nzila_ops.exceptions import StorageError
    from nzila_ops.tasks import backup_database_task
    from tests.support.s3 import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "BACKUP_TASK_RETRIES": 2,
        "STORAGES": {"default": f"s3://b/x?endpoint_url={dead}&max_attempts=1"},
    }
    # Eagerly applied, a retry runs again at once (the countdown applies on a real worker).
    result = backup_database_task.apply(args=["default", "hourly"])
    with pytest.raises(StorageError, match="cannot reach S3"):
        result.get()
    assert BackupRecord.objects.filter(status="failed").count() == 3  # first try + 2 retries

    BackupRecord.objects.all().delete()
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {"default": "s3://no-such-bucket/x"},
    }
    with pytest.raises(StorageError, match="does not exist"):
        backup_database_task.apply(args=["default", "hourly"]).get()
    assert BackupRecord.objects.filter(status="failed").count() == 1
