"""Verify and drill from the admin, on a real backup (pg_dump, age, zstd in a file storage):
queued as Celery tasks (eager in the tests), the outcome recorded and shown; the detail page
reads its manifest as a document, and only users holding nzila_ops.change_backuprecord see or
can use the actions."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from nzila_ops.backups.service import run_backup
from nzila_ops.formats import human_size
from nzila_ops.models import BackupRecord, DrillRecord
from tests.backups.helpers import flip_byte, only_manifest

pytestmark = pytest.mark.django_db(transaction=True)
LIST = "/admin/nzila_ops/backuprecord/"


@pytest.fixture
def backup(ops_settings: Any, seeded_postgres: dict[str, int]) -> BackupRecord:
    return run_backup("default", "manual")


def act(client: Client, action: str, *pks: Any, **extra: str) -> Any:
    return client.post(LIST, {"action": action, "index": "0", "_selected_action": pks, **extra})


def test_the_detail_page_reads_the_manifest_as_a_document(
    admin_client: Client, backup: BackupRecord
) -> None:
    page = admin_client.get(f"{LIST}{backup.pk}/change/").content.decode()
    manifest = re.search(r'<dl class="ops-document">.*</dl>', page, re.S).group(0)
    assert "<dt>dump</dt>" in manifest and "pg_dump-custom" in manifest
    # The tables as a table, one row each, and sizes by the one rule, with the bytes on hover.
    assert manifest.count("<td>vehicles_vehicle</td>") == 1
    assert f">{human_size(backup.stored_size)}<" in manifest
    assert f'title="{backup.stored_size:,} bytes"' in manifest
    assert '{"backup_type"' not in page and "&quot;backup_type&quot;" not in page
    assert 'id="ops-verify"' in page and 'id="ops-drill"' in page


@pytest.mark.parametrize("state", ["failed", "deleted by retention"])
def test_a_backup_that_cannot_be_verified_offers_neither_action_on_its_page(
    admin_client: Client, backup: BackupRecord, state: str
) -> None:
    if state == "failed":
        backup.status = BackupRecord.Status.FAILED
    else:
        from django.utils import timezone

        backup.deleted_at = timezone.now()
    backup.save()
    page = admin_client.get(f"{LIST}{backup.pk}/change/").content.decode()
    assert 'id="ops-verify"' not in page and 'id="ops-drill"' not in page


def test_the_list_prints_the_size_the_list_backups_command_prints(
    admin_client: Client, backup: BackupRecord
) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("list_backups", stdout=out)
    size = human_size(backup.stored_size)
    assert size in out.getvalue()
    assert f">{size}<" in admin_client.get(LIST).content.decode()


def test_verify_records_passed_and_the_list_shows_it(
    admin_client: Client, backup: BackupRecord
) -> None:
    response = act(admin_client, "verify_backups", backup.pk, ops_next="change")
    assert response.status_code == 302 and response["Location"].endswith(f"/{backup.pk}/change/")
    detail = admin_client.get(response["Location"]).content.decode()
    assert f"Verification of {backup.name} queued" in detail
    backup.refresh_from_db()
    assert backup.verification_result == "passed" and backup.verified_at is not None
    page = admin_client.get(LIST).content.decode()
    assert re.search(r"ops-badge--passed[^>]*>passed<", page)


def test_verify_of_a_corrupt_backup_records_failed_with_why(
    admin_client: Client, backup: BackupRecord, backup_dir: Path
) -> None:
    flip_byte(backup_dir / only_manifest(backup_dir)["object"]["key"], -100)
    follow = admin_client.post(
        LIST, {"action": "verify_backups", "index": "0", "_selected_action": [backup.pk]},
        follow=True,
    )  # fmt: skip
    assert "queued" in follow.content.decode()
    backup.refresh_from_db()
    assert backup.verification_result == "failed" and backup.verification_error
    assert re.search(r"ops-badge--failed[^>]*>failed<", admin_client.get(LIST).content.decode())


def test_the_verify_command_records_its_outcome_too(backup: BackupRecord) -> None:
    from io import StringIO

    from django.core.management import call_command

    call_command("verify_backup", "--latest", stdout=StringIO())
    backup.refresh_from_db()
    assert backup.verification_result == "passed"


@pytest.mark.slow
def test_a_drill_of_the_backup_is_recorded_with_its_phases(
    admin_client: Client, backup: BackupRecord
) -> None:
    response = act(admin_client, "drill_backups", backup.pk)
    assert response.status_code == 302
    drill = DrillRecord.objects.get()
    assert drill.backup_name == backup.name and drill.result == "passed", drill.error
    page = admin_client.get(f"/admin/nzila_ops/drillrecord/{drill.pk}/change/").content.decode()
    phases = re.search(r'<table class="ops-phases">.*?</table>', page, re.S).group(0)
    for phase in drill.phase_seconds:
        assert f'<th scope="row">{phase}</th>' in phases
    assert "total" in phases
    drills = admin_client.get("/admin/nzila_ops/drillrecord/").content.decode()
    assert re.search(r"ops-badge--passed[^>]*>passed<", drills) and "of 1 h 00 min" in drills


def test_actions_need_the_change_permission(
    staff_client: Callable[..., Client], backup: BackupRecord
) -> None:
    viewer = staff_client("nzila_ops.view_backuprecord")
    page = viewer.get(LIST).content.decode()
    assert "verify_backups" not in page and "drill_backups" not in page
    assert 'id="ops-verify"' not in viewer.get(f"{LIST}{backup.pk}/change/").content.decode()
    act(viewer, "verify_backups", backup.pk)
    act(viewer, "drill_backups", backup.pk)
    backup.refresh_from_db()
    assert backup.verified_at is None and not DrillRecord.objects.exists()

    operator = staff_client(
        "nzila_ops.view_backuprecord", "nzila_ops.change_backuprecord", username="operator2"
    )
    assert "verify_backups" in operator.get(LIST).content.decode()
    act(operator, "verify_backups", backup.pk)
    backup.refresh_from_db()
    assert backup.verification_result == "passed"


def test_a_failed_backup_is_not_queued(admin_client: Client, backup: BackupRecord) -> None:
    failed = BackupRecord.objects.create(
        name="default-failed", database_alias="default", engine="postgresql",
        started_at=backup.started_at, status="failed", error="pg_dump: boom",
    )  # fmt: skip
    selected = [failed.pk, backup.pk]
    response = admin_client.post(
        LIST, {"action": "verify_backups", "index": "0", "_selected_action": selected}, follow=True
    )
    assert "Not queued (only a succeeded backup still in storage can be): default-failed" in (
        response.content.decode()
    )
    failed.refresh_from_db()
    backup.refresh_from_db()
    assert failed.verified_at is None and backup.verification_result == "passed"


@pytest.fixture
def unreachable_broker() -> Any:
    """The real Celery app, not eager, sending to a port nobody listens on (the broker is down).
    Its cached connection and producer pools are set aside and put back afterwards, so that
    neither this test's broker nor a closed connection outlives it."""
    from nzila_ops.tasks import verify_backup_task
    from tests.support.s3 import free_port

    app = verify_backup_task.app  # the app the task sends with
    names = ("task_always_eager", "broker_url", "task_publish_retry", "broker_connection_timeout",
             "broker_transport_options")  # fmt: skip
    saved = {k: app.conf[k] for k in names}
    pools = app._pool, app.amqp._producer_pool
    app._pool = app.amqp._producer_pool = None
    app.conf.update(task_always_eager=False, task_publish_retry=False, broker_connection_timeout=1,
                    broker_transport_options={"max_retries": 0},
                    broker_url=f"redis://127.0.0.1:{free_port()}/14")  # fmt: skip
    yield
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool, app.amqp._producer_pool = pools
    app.conf.update(saved)


def test_a_broker_that_cannot_be_reached_is_said_and_nothing_is_recorded(
    admin_client: Client, backup: BackupRecord, unreachable_broker: Any
) -> None:
    response = admin_client.post(
        LIST, {"action": "verify_backups", "index": "0", "_selected_action": [backup.pk]},
        follow=True,
    )  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200
    assert f"The verification of {backup.name} could not be queued" in page
    assert "queued;" not in page
    backup.refresh_from_db()
    assert backup.verified_at is None


def test_with_the_broker_down_the_action_stops_at_the_first_and_names_the_rest(
    admin_client: Client, backup: BackupRecord, unreachable_broker: Any
) -> None:
    """Each send waits out the broker's connection attempts: trying all 50 selected outlasted
    gunicorn's timeout (a 502). The first failure stops the action, and says what was not
    tried."""
    from datetime import timedelta

    older = [
        BackupRecord.objects.create(
            name=f"default-older-{n}",
            database_alias="default",
            engine="postgresql",
            started_at=backup.started_at - timedelta(hours=n),
            status="succeeded",
        )
        for n in (1, 2)
    ]
    selected = [backup.pk, *(r.pk for r in older)]
    response = admin_client.post(
        LIST, {"action": "verify_backups", "index": "0", "_selected_action": selected},
        follow=True,
    )  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("could not be queued") == 1
    assert f"The verification of {backup.name} could not be queued" in page
    assert "Not tried, so not queued either: default-older-1, default-older-2." in page
    assert "queued;" not in page
