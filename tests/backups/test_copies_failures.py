"""A copy target that is down: the copy task retries, then opens an incident (component
copy:<alias>, naming the target); once the target is back, copy_backups catches up and the
incident resolves. A backup failure and a copy failure never close each other's incident."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops import signals
from nzila_ops.backups.copies import copy_component, retry_delay
from nzila_ops.conf import get_config
from nzila_ops.events import backup_component
from nzila_ops.exceptions import ConfigurationError, StorageError
from nzila_ops.models import BackupCopy, BackupRecord, Incident
from nzila_ops.tasks import copy_backup_task
from tests.backups.copies_support import (
    bucket_keys,
    land_backup,
    land_in_two_regions,
    two_region_settings,
)
from tests.support.s3 import free_port

pytestmark = [pytest.mark.s3, pytest.mark.django_db(transaction=True)]


def open_incidents(component: str) -> list[Incident]:
    return list(Incident.objects.filter(component=component, resolved_at=None))


def test_a_copy_to_a_target_that_is_down_is_retried_then_opens_an_incident_naming_it(
    ops_settings: Any, buckets: tuple[str, str, Any], aws_env: str
) -> None:
    primary, secondary, secondary_client = buckets
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens: the region is unreachable
    two_region_settings(ops_settings, primary, secondary, down, COPY_TASK_RETRIES=2)
    manifest = land_backup(size=1 << 20)

    result = copy_backup_task.delay(manifest["name"], "secondary")  # eager: retries run at once

    assert result.failed()
    copy = BackupCopy.objects.get(backup__name=manifest["name"])
    assert (copy.status, copy.attempts, copy.failure_reported) == ("failed", 3, True)
    assert "cannot reach S3" in copy.error  # the target unreachable, each time, in one line
    (incident,) = open_incidents(copy_component("default"))
    assert incident.severity == "P1" and incident.source == "backup"
    detail = incident.events.get(kind="opened").detail
    assert f"the copy of backup {manifest['name']} to storage 'secondary' failed (3 attempts)" in (
        detail
    )
    assert "copy_backups --storage secondary" in detail
    assert open_incidents(backup_component("default")) == []

    # The next backup succeeding says nothing about the copies: the copy incident stays open.
    signals.backup_succeeded.send(
        sender=BackupRecord,
        record=BackupRecord.objects.get(name=manifest["name"]),
        component=backup_component("default"),
        at=timezone.now(),
    )
    assert len(open_incidents(copy_component("default"))) == 1

    # The region is back: copy_backups copies what it missed and the incident resolves.
    two_region_settings(ops_settings, primary, secondary, aws_env, COPY_TASK_RETRIES=2)
    out = StringIO()
    call_command("copy_backups", stdout=out)
    assert f"{manifest['name']} -> secondary: copied" in out.getvalue()
    assert f"dr/{manifest['object']['key']}" in bucket_keys(secondary_client, secondary)
    copy.refresh_from_db()
    assert (copy.status, copy.failure_reported) == ("succeeded", False)
    assert open_incidents(copy_component("default")) == []
    assert Incident.objects.get(component=copy_component("default")).resolved_at is not None


def test_a_tampered_source_opens_the_incident_at_once_without_retries(
    ops_settings: Any, buckets: tuple[str, str, Any], s3_client: Any, aws_env: str
) -> None:
    primary, secondary, secondary_client = buckets
    two_region_settings(ops_settings, primary, secondary, aws_env, COPY_TASK_RETRIES=5)
    manifest = land_backup(size=1 << 20)
    key = f"nzila/{manifest['object']['key']}"
    s3_client.put_object(Bucket=primary, Key=key, Body=b"\0" * manifest["object"]["stored_size"])

    copy_backup_task.delay(manifest["name"], "secondary")

    copy = BackupCopy.objects.get(backup__name=manifest["name"])
    assert (copy.status, copy.attempts) == ("failed", 1)
    (incident,) = open_incidents(copy_component("default"))
    assert "does not match its manifest" in incident.events.get(kind="opened").detail
    assert bucket_keys(secondary_client, secondary) == []


def test_a_copy_succeeding_does_not_resolve_a_failed_backup(
    ops_settings: Any, buckets: tuple[str, str, Any], aws_env: str
) -> None:
    manifest = land_in_two_regions(ops_settings, buckets, aws_env)
    signals.backup_failed.send(
        sender=BackupRecord, record=None, component=backup_component("default"),
        severity="P1", reason="pg_dump failed", at=timezone.now(),
    )  # fmt: skip

    copy_backup_task.delay(manifest["name"], "secondary")

    assert BackupCopy.objects.get(backup__name=manifest["name"]).status == "succeeded"
    assert len(open_incidents(backup_component("default"))) == 1


def test_backups_missed_while_the_target_was_down_are_caught_up_oldest_first(
    ops_settings: Any, buckets: tuple[str, str, Any], aws_env: str
) -> None:
    primary, secondary, secondary_client = buckets
    down = f"http://127.0.0.1:{free_port()}"
    two_region_settings(ops_settings, primary, secondary, down, COPY_TASK_RETRIES=0)
    landed = [land_backup(size=256 << 10) for _ in range(3)]
    for manifest in landed:
        copy_backup_task.delay(manifest["name"], "secondary")
    assert set(BackupCopy.objects.values_list("status", flat=True)) == {"failed"}

    two_region_settings(ops_settings, primary, secondary, aws_env, COPY_TASK_RETRIES=0)
    dry = StringIO()
    call_command("copy_backups", "--dry-run", "--database", "default", stdout=dry)
    assert dry.getvalue().count("would copy") == 3
    assert bucket_keys(secondary_client, secondary) == []

    out = StringIO()
    call_command("copy_backups", "--storage", "secondary", stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split(" -> ")[0] for line in lines] == [m["name"] for m in landed]
    held = bucket_keys(secondary_client, secondary)
    for manifest in landed:
        assert f"dr/{manifest['object']['key']}" in held
        assert f"dr/default/{manifest['name']}.manifest.json" in held
    assert set(BackupCopy.objects.values_list("status", flat=True)) == {"succeeded"}
    assert open_incidents(copy_component("default")) == []


def test_copy_backups_exits_1_naming_the_first_failure(
    ops_settings: Any, buckets: tuple[str, str, Any]
) -> None:
    primary, secondary, _ = buckets
    two_region_settings(ops_settings, primary, secondary, f"http://127.0.0.1:{free_port()}")
    manifest = land_backup(size=1 << 10)

    with pytest.raises(CommandError) as raised:
        call_command("copy_backups", stdout=StringIO())

    assert raised.value.returncode == 1
    assert str(raised.value) == (
        f"1 copy failed; the first: listing -> secondary: cannot reach S3 while listing in "
        f"bucket {secondary!r}"
    )
    assert BackupCopy.objects.filter(backup__name=manifest["name"]).exists() is False


def test_copy_backups_with_a_storage_that_is_no_copy_target_exits_2_with_one_line(
    ops_settings: Any, buckets: tuple[str, str, Any], aws_env: str
) -> None:
    primary, secondary, _ = buckets
    two_region_settings(ops_settings, primary, secondary, aws_env)
    for name in ("tertiary", "default"):  # unknown, and the primary itself
        with pytest.raises(CommandError) as raised:
            call_command("copy_backups", "--storage", name, stdout=StringIO())
        assert raised.value.returncode == 2
        assert str(raised.value) == (
            f"no copy target named {name!r}: NZILA_OPS['COPY_STORAGES'] is secondary"
        )


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=st.one_of(st.text(max_size=60), st.sampled_from(["..", "a/b", "\x00", "-"])))
def test_any_storage_or_database_name_is_refused_with_one_line(value: str) -> None:
    for flag in ("--storage", "--database"):
        try:
            # flag=value: a value such as "-:" would otherwise be taken for an option.
            call_command("copy_backups", f"{flag}={value}", "--dry-run", stdout=StringIO())
        except CommandError as exc:
            assert exc.returncode == 2
            assert "\n" not in str(exc)


def test_copy_settings_that_cannot_work_are_refused_in_one_line(settings: Any) -> None:
    storages = {"default": "file:///tmp", "secondary": "file:///srv"}
    cases = {
        "names 'elsewhere', which is not in NZILA_OPS['STORAGES'] (default, secondary)": {
            "COPY_STORAGES": ["elsewhere"]
        },
        "names 'default', the BACKUP_STORAGE itself": {"COPY_STORAGES": ["default"]},
        "names a storage twice": {"COPY_STORAGES": ["secondary", "secondary"]},
        "'COPY_TASK_RETRIES'] must be an integer from 0 to 100": {"COPY_TASK_RETRIES": -1},
        "'COPY_RETRY_SECONDS'] must be a number from 1 to 3600": {"COPY_RETRY_SECONDS": 0},
        "['STORAGE_RETENTION']['secondary'] has invalid entries ['HOURLIES']": {
            "STORAGE_RETENTION": {"secondary": {"HOURLIES": 2}}
        },
        "['STORAGE_RETENTION'] names 'tape'": {"STORAGE_RETENTION": {"tape": {"HOURLY": 2}}},
    }
    for message, extra in cases.items():
        settings.NZILA_OPS = {"STORAGES": storages, **extra}
        with pytest.raises(ConfigurationError) as raised:
            get_config()
        assert message in str(raised.value)
    settings.NZILA_OPS = {"STORAGES": storages, "COPY_STORAGES": "secondary"}
    assert get_config()["COPY_STORAGES"] == ["secondary"]


def test_retries_back_off_doubling_up_to_an_hour_then_stop(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "COPY_TASK_RETRIES": 8, "COPY_RETRY_SECONDS": 60}
    transient = StorageError("S3 is throttling", transient=True)
    delays = [retry_delay(transient, retries) for retries in range(9)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, None]


def test_celery_s_own_retry_bound_never_ends_a_copy_s_retries_first() -> None:
    # A worker's Task.retry raises the error itself once Celery's max_retries (3 by default)
    # is passed, skipping the failure event; COPY_TASK_RETRIES (5 by default) is the bound.
    # (Eager mode, used by the tests above, does not apply Celery's bound the same way.)
    assert copy_backup_task.max_retries is None
