"""A copy failure reads as a copy failure: its incident names the backup and the target and
says to run copy_backups (not backup_database), and its recovery is no "Backup succeeded"
e-mail."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import boto3
import pytest
from django.core import mail
from django.core.management import call_command

from nzila_ops.backups.copies import copy_component
from nzila_ops.models import Incident
from nzila_ops.tasks import copy_backup_task
from tests.backups.copies_support import (
    SECONDARY_REGION,
    land_backup,
    make_bucket,
    two_region_settings,
)
from tests.support.s3 import free_port

pytestmark = [pytest.mark.s3, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def buckets(aws_env: str, s3_client: Any) -> Iterator[tuple[str, str]]:
    secondary_client = boto3.client("s3", endpoint_url=aws_env, region_name=SECONDARY_REGION)
    yield make_bucket(s3_client, "us-east-1"), make_bucket(secondary_client, SECONDARY_REGION)


def test_a_failed_copy_s_incident_names_the_copy_and_its_recovery_mails_no_backup_success(
    ops_settings: Any, buckets: tuple[str, str], aws_env: str
) -> None:
    primary, secondary = buckets
    down = f"http://127.0.0.1:{free_port()}"
    extra = {"COPY_TASK_RETRIES": 0, "NOTIFY_ON_SUCCESS": "each",
             "NOTIFY_EMAILS": ["ops@example.com"]}  # fmt: skip
    two_region_settings(ops_settings, primary, secondary, down, **extra)
    manifest = land_backup(size=1 << 20)

    assert copy_backup_task.delay(manifest["name"], "secondary").failed()

    incident = Incident.objects.get(component=copy_component("default"), resolved_at=None)
    assert incident.title == f"Copy of backup {manifest['name']} to storage 'secondary' FAILED"
    detail = incident.events.get(kind="opened").detail
    assert "backup_database" not in detail
    assert "Next step: once the target is reachable again" in detail
    assert "`python manage.py copy_backups --storage secondary`" in detail
    opened = [m.subject for m in mail.outbox]
    assert any(f"Copy of backup {manifest['name']}" in subject for subject in opened), opened

    mail.outbox.clear()
    two_region_settings(ops_settings, primary, secondary, aws_env, **extra)
    call_command("copy_backups", stdout=StringIO())

    incident.refresh_from_db()
    assert incident.resolved_at is not None
    resolved = incident.events.get(kind="resolved").detail
    assert resolved == f"every reported copy of 'default' is in place (newest: {manifest['name']})"
    subjects = [m.subject for m in mail.outbox]
    assert not [s for s in subjects if "succeeded" in s and "Backup" in s], subjects
    assert any("resolved" in s.lower() for s in subjects), subjects
