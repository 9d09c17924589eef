"""The backup task's retries are bounded by BACKUP_TASK_RETRIES alone: Celery's own default
bound (3) must not end them first, which would skip the retries the operator asked for."""

from __future__ import annotations

from typing import Any

import pytest

from nzila_ops.events import backup_component
from nzila_ops.exceptions import StorageError
from nzila_ops.models import BackupRecord, Incident
from nzila_ops.tasks import backup_database_task
from tests.support.s3 import free_port

pytestmark = pytest.mark.postgres


def test_five_retries_asked_for_are_five_retries_then_the_failure(
    ops_settings: Any, seeded_postgres: dict, aws_env: str
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "BACKUP_TASK_RETRIES": 5,
        "STORAGES": {"default": f"s3://b/x?endpoint_url={dead}&max_attempts=1"},
    }
    # Eagerly applied, a retry runs again at once (the countdown applies on a real worker).
    result = backup_database_task.apply(args=["default", "hourly"])
    with pytest.raises(StorageError, match="cannot reach S3"):
        result.get()
    assert BackupRecord.objects.filter(status="failed").count() == 6  # first try + 5 retries
    incident = Incident.objects.get(component=backup_component("default"))
    assert incident.resolved_at is None


def test_celery_s_own_retry_bound_never_ends_a_backup_s_retries_first() -> None:
    # On a worker, Task.retry raises the error itself once Celery's max_retries is passed.
    assert backup_database_task.max_retries is None
