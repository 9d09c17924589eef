"""A copy that is never queued is still made and, if it fails, reported: the beat entry
"nzila_ops: copy catch-up" (COPY_CATCH_UP_CRON, installed only with COPY_STORAGES) runs
copy_missing and reports each failure as a copy failure, and a copy whose task cannot be queued
(the broker is down) is reported as a copy failure at once."""

from __future__ import annotations

import threading
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.core.management import call_command
from django.db import connections
from django_celery_beat.models import PeriodicTask

from nzila_ops.backups.copies import enqueue_copies
from nzila_ops.backups.storages import get_storage
from nzila_ops.conf import get_config
from nzila_ops.events import copy_component
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.models import BackupCopy, Incident
from nzila_ops.tasks import copy_catch_up_task
from tests.backups.copies_support import land_backup
from tests.support.s3 import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def installed() -> dict[str, tuple[str, str]]:
    return {
        t.name: (t.task, str(t.crontab).split(" (")[0])
        for t in PeriodicTask.objects.select_related("crontab")
    }


def test_the_catch_up_entry_is_installed_hourly_only_with_copy_targets(
    ops_settings: Any, second: Path
) -> None:
    call_command("setup_schedules", stdout=StringIO())
    task, cron = installed()["nzila_ops: copy catch-up"]
    assert task == "nzila_ops.copy_catch_up" and cron.startswith("15 * * * *")

    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "COPY_CATCH_UP_CRON": "*/20 * * * *"}
    call_command("setup_schedules", stdout=StringIO())
    assert installed()["nzila_ops: copy catch-up"][1].startswith("*/20 * * * *")

    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "COPY_STORAGES": []}
    output = StringIO()
    call_command("setup_schedules", stdout=output)
    assert "nzila_ops: copy catch-up" not in installed()
    assert "nzila_ops: copy catch-up" in output.getvalue() and "removed" in output.getvalue()


@pytest.mark.parametrize("cron", ["hourly", "15 * * *", 15, None])
def test_a_catch_up_cron_that_is_no_crontab_is_one_configuration_error(
    settings: Any, cron: Any
) -> None:
    settings.NZILA_OPS = {"COPY_CATCH_UP_CRON": cron}
    with pytest.raises(ConfigurationError, match="COPY_CATCH_UP_CRON"):
        get_config()


def test_the_catch_up_task_copies_what_the_target_lacks(second: Path) -> None:
    manifest = land_backup(size=1 << 20)

    result = copy_catch_up_task.delay().get()

    assert result == {"copied": [manifest["name"]], "failed": []}
    assert (second / manifest["object"]["key"]).read_bytes() == get_storage().read_bytes(
        manifest["object"]["key"]
    )


def test_the_catch_up_task_reports_each_failed_copy_as_a_copy_failure(
    second: Path, backup_dir: Path
) -> None:
    manifest = land_backup(size=1 << 20)
    # The primary's object no longer matches its manifest: the copy fails (not retryable).
    (backup_dir / manifest["object"]["key"]).write_bytes(b"\0" * (1 << 20))

    result = copy_catch_up_task.delay().get()

    assert result["copied"] == [] and len(result["failed"]) == 1
    assert manifest["name"] in result["failed"][0]
    incident = Incident.objects.get(component=copy_component("default"), resolved_at=None)
    assert manifest["name"] in incident.title
    row = BackupCopy.objects.get(backup__name=manifest["name"])
    assert (row.status, row.failure_reported) == ("failed", True)


def test_a_copy_that_cannot_be_queued_is_reported_as_a_copy_failure_at_once(
    second: Path,
) -> None:
    manifest = land_backup(size=1 << 20)
    down = f"redis://127.0.0.1:{free_port()}/1"
    failures: list[BaseException] = []

    def enqueue_with_the_broker_down() -> None:
        # current_app is per thread: in this one, tasks are sent to a broker nobody serves.
        app = Celery("broker-down", broker=down, set_as_current=True)
        app.conf.update(task_always_eager=False, task_publish_retry=False,
                        broker_connection_retry=False, broker_connection_timeout=1)  # fmt: skip
        try:
            enqueue_copies(manifest["name"])  # autocommit: sent at once
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=enqueue_with_the_broker_down)
    thread.start()
    thread.join(timeout=60)

    assert not thread.is_alive() and failures == []
    incident = Incident.objects.get(component=copy_component("default"), resolved_at=None)
    assert manifest["name"] in incident.title
    row = BackupCopy.objects.get(backup__name=manifest["name"])
    assert (row.status, row.failure_reported) == ("failed", True)
    assert "could not be queued" in row.error
