"""The backup list reads at a glance: status as a badge with its word, when (local time with
its zone, and age), size by the commands' 1000-based rule, storage and copies, verification;
"encrypted" only for a backup that exists."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from nzila_ops.formats import human_size
from nzila_ops.models import BackupCopy
from tests.admin.conftest import make_backup

LIST = "/admin/nzila_ops/backuprecord/"


def row_of(page: str, name: str) -> str:
    """The list's row of the backup ``name`` (whose name may break after each "-")."""
    page = page.replace("-<wbr>", "-")
    match = re.search(rf"<tr>(?:(?!</tr>).)*?{re.escape(name)}.*?</tr>", page, re.S)
    assert match, name
    return match.group(0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "tone"),
    [("succeeded", "good"), ("failed", "bad"), ("running", "busy"), ("skipped", "neutral")],
)
def test_each_status_is_a_badge_with_its_word(admin_client: Client, status: str, tone: str) -> None:
    make_backup(f"default-{status}", status=status, error="pg_dump: boom" * (status == "failed"))
    row = row_of(admin_client.get(LIST).content.decode(), f"default-{status}")
    assert re.search(rf'class="ops-badge ops-badge--{status} ops-tone--{tone}"[^>]*>{status}<', row)


@pytest.mark.django_db
def test_a_failed_backup_does_not_look_encrypted_and_a_succeeded_one_does(
    admin_client: Client,
) -> None:
    make_backup("default-ok")
    make_backup("default-bad", status="failed", stored_size=None)
    page = admin_client.get(LIST).content.decode()
    assert "ops-badge--encrypted" in row_of(page, "default-ok")
    assert "ops-badge--encrypted" not in row_of(page, "default-bad")
    assert "ops-badge--plain" not in row_of(page, "default-bad")


@pytest.mark.django_db
def test_sizes_follow_the_commands_1000_based_rule(admin_client: Client) -> None:
    make_backup("default-size", stored_size=1_500_000)
    row = row_of(admin_client.get(LIST).content.decode(), "default-size")
    assert human_size(1_500_000) == "1.5 MB" and ">1.5 MB<" in row
    assert "1.4 MB" not in row  # the 1024-based figure filesizeformat showed
    assert 'title="1,500,000 bytes"' in row


@pytest.mark.django_db
def test_times_show_their_zone_and_age(admin_client: Client, settings: Any) -> None:
    settings.TIME_ZONE = "Africa/Lagos"
    started = timezone.now() - timedelta(hours=3, minutes=12)
    make_backup("default-when", started_at=started)
    row = row_of(admin_client.get(LIST).content.decode(), "default-when")
    local = timezone.localtime(started, timezone.get_fixed_timezone(60))
    assert local.strftime("%Y-%m-%d %H:%M") in row and " WAT" in row
    assert "(3 h 12 min ago)" in row


@pytest.mark.django_db
def test_storage_shows_each_copy_with_its_status(admin_client: Client) -> None:
    record = make_backup("default-copied")
    BackupCopy.objects.create(backup=record, storage_name="eu-west", status="succeeded")
    BackupCopy.objects.create(backup=record, storage_name="vault", status="failed", error="x")
    row = row_of(admin_client.get(LIST).content.decode(), "default-copied")
    assert re.search(r"ops-badge--succeeded[^>]*>eu-west<", row)
    assert re.search(r"ops-badge--failed[^>]*>vault<", row)


@pytest.mark.django_db
def test_verification_is_never_passed_or_failed_with_when(admin_client: Client) -> None:
    now = timezone.now()
    make_backup("default-never")
    make_backup("default-passed", verified_at=now - timedelta(minutes=3),
                verification_result="passed")  # fmt: skip
    make_backup("default-vfailed", verified_at=now, verification_result="failed",
                verification_error="sha256 does not match the manifest")  # fmt: skip
    page = admin_client.get(LIST).content.decode()
    assert ">never<" in row_of(page, "default-never")
    assert ">passed<" in row_of(page, "default-passed") and "3 min 00 s ago" in row_of(
        page, "default-passed"
    )
    failed = row_of(page, "default-vfailed")
    assert ">failed<" in failed and 'title="sha256 does not match the manifest"' in failed


@pytest.mark.django_db
def test_the_list_keeps_few_columns(admin_client: Client) -> None:
    """No sideways scrolling at 1400 px: six short columns, names that wrap after a "-"."""
    make_backup("default-" + "x" * 120)
    page = admin_client.get(LIST).content.decode()
    header = re.search(r"<thead>.*?</thead>", page, re.S).group(0)
    ours = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', header)
    assert ours[:6] == ["name_shown", "status_badge", "started", "size_shown", "storage",
                        "verified"]  # fmt: skip
    assert '<span class="ops-name">default-<wbr>xxx' in page and "nzila_ops/admin.css" in page


@pytest.mark.django_db
def test_one_action_queues_at_most_fifty_and_says_so(admin_client: Client) -> None:
    """Each verification is a whole download: a select-all of hundreds would hold every worker."""
    start = timezone.now() - timedelta(days=1)
    pks = [
        make_backup(
            f"default-20261128T00{i:02d}00Z-hourly-{i:04x}", started_at=start + timedelta(minutes=i)
        ).pk
        for i in range(51)
    ]
    response = admin_client.post(
        LIST, {"action": "verify_backups", "index": "0", "_selected_action": pks}, follow=True
    )
    page = response.content.decode()
    assert "51 backups selected: only the newest 50 were taken" in page
    # The rows are not in storage: each queued verification ran (eagerly) and failed.
    from nzila_ops.models import BackupRecord

    assert BackupRecord.objects.filter(verification_result="failed").count() == 50
    assert BackupRecord.objects.get(name="default-20261128T000000Z-hourly-0000").verified_at is None
