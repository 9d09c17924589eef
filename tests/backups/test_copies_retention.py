"""Retention applies to each storage by its own policy: a copy target keeping fewer hourlies
loses them while the primary keeps its own, and catching up never copies back what the target's
policy deleted."""

from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from nzila_ops.backups.copies import copy_backup
from nzila_ops.backups.retention import enforce_retention_all
from nzila_ops.models import BackupCopy, BackupRecord
from tests.backups.copies_support import (
    bucket_keys,
    land_backup,
    two_region_settings,
)

pytestmark = [pytest.mark.s3, pytest.mark.django_db(transaction=True)]


def manifests_in(client: Any, bucket: str, prefix: str) -> list[str]:
    return [
        key.rsplit("/", 1)[-1].removesuffix(".manifest.json")
        for key in bucket_keys(client, bucket)
        if key.startswith(prefix) and key.endswith(".manifest.json")
    ]


def test_a_copy_target_keeping_fewer_hourlies_is_pruned_by_its_own_policy(
    ops_settings: Any,
    buckets: tuple[str, str, Any],
    s3_client: Any,
    aws_env: str,
) -> None:
    primary, secondary, secondary_client = buckets
    two_region_settings(
        ops_settings, primary, secondary, aws_env,
        RETENTION={"MIN_AGE_MINUTES": 0},
        # The second region keeps the last 3 hours only (this hour and the 2 before it).
        STORAGE_RETENTION={"secondary": {"HOURLY": 3, "DAILY": 0, "WEEKLY": 0, "MONTHLY": 0}},
    )  # fmt: skip
    now = timezone.now()
    if now.minute == 59:  # the hour must not turn between landing the backups and retention
        time.sleep(61 - now.second)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    # One backup in each of the 5 hours before this one, newest first.
    landed = [land_backup(8 << 10, hour - timedelta(hours=n, minutes=-5)) for n in range(1, 6)]
    names = [m["name"] for m in landed]
    for name in names:
        copy_backup(name, "secondary")
    assert sorted(manifests_in(secondary_client, secondary, "dr/")) == sorted(names)

    runs = enforce_retention_all()

    assert [(run.storage, run.deleted) for run in runs] == [
        ("default", []),
        ("secondary", names[2:]),
    ]
    assert sorted(manifests_in(s3_client, primary, "nzila/")) == sorted(names)
    assert sorted(manifests_in(secondary_client, secondary, "dr/")) == sorted(names[:2])
    assert [k for k in bucket_keys(secondary_client, secondary) if k.endswith(".age")] == sorted(
        f"dr/{m['object']['key']}" for m in landed[:2]
    )
    status = dict(BackupCopy.objects.values_list("backup__name", "status"))
    assert status == {
        **dict.fromkeys(names[:2], "succeeded"),
        **dict.fromkeys(names[2:], "deleted"),
    }
    # Retention on a copy target leaves the catalog's record of the primary's backup alone.
    assert BackupRecord.objects.filter(deleted_at__isnull=False).count() == 0

    # Catching up does not copy back what the target's policy deleted.
    out = StringIO()
    call_command("copy_backups", "--dry-run", stdout=out)
    assert out.getvalue().strip() == "nothing to copy: every copy target holds what it should"
    out = StringIO()
    call_command("enforce_retention", "--dry-run", stdout=out)
    assert "database default in storage secondary:" in out.getvalue()


def test_a_failed_copy_the_target_would_not_keep_is_not_waited_for_by_its_incident(
    ops_settings: Any, buckets: tuple[str, str, Any], aws_env: str
) -> None:
    from nzila_ops.backups.copies import copy_component
    from nzila_ops.models import Incident
    from nzila_ops.tasks import copy_backup_task
    from tests.support.s3 import free_port

    primary, secondary, secondary_client = buckets
    policy = {
        "RETENTION": {"MIN_AGE_MINUTES": 0},
        "STORAGE_RETENTION": {"secondary": {"HOURLY": 2, "DAILY": 0, "WEEKLY": 0, "MONTHLY": 0}},
    }
    down = f"http://127.0.0.1:{free_port()}"
    two_region_settings(ops_settings, primary, secondary, down, COPY_TASK_RETRIES=0, **policy)
    now = timezone.now()
    if now.minute == 59:
        time.sleep(61 - now.second)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    old = land_backup(8 << 10, hour - timedelta(hours=5, minutes=-5))
    copy_backup_task.delay(old["name"], "secondary")  # the target is down: reported at once
    assert Incident.objects.get(component=copy_component("default")).resolved_at is None
    new = land_backup(8 << 10, hour - timedelta(hours=1, minutes=-5))

    two_region_settings(ops_settings, primary, secondary, aws_env, **policy)
    out = StringIO()
    call_command("copy_backups", stdout=out)

    # The target keeps the last 2 hours: the old backup is not copied, its copy row says why,
    # and the incident no longer waits for it.
    assert out.getvalue().strip().startswith(f"{new['name']} -> secondary: copied")
    assert old["name"] not in out.getvalue()
    assert manifests_in(secondary_client, secondary, "dr/") == [new["name"]]
    row = BackupCopy.objects.get(backup__name=old["name"])
    assert (row.status, row.error) == ("deleted", "not kept by the retention policy of secondary")
    assert Incident.objects.get(component=copy_component("default")).resolved_at is not None
