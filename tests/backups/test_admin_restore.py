"""The admin's restore page on real PostgreSQL and Redis: permission, typed confirmation, the
restore itself with its progress by phase, the outcome, and the audit."""

from __future__ import annotations

import logging
import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from nzila_ops.backups import restore_progress as progress_store
from nzila_ops.models import BackupRecord, RestoreRecord
from tests.backups.admin_restore_support import (
    ADDRESS,
    client_for,
    progress_url,
    redis_ttl,
    restore_url,
    take_backup,
)
from tests.backups.helpers import APP_TABLES, flip_byte, only_manifest
from tests.support import pg

pytestmark = pytest.mark.postgres
TABLES = [*APP_TABLES]


def _row(**fields: Any) -> BackupRecord:
    from django.utils import timezone

    now = timezone.now()
    values = {
        "name": "default-20261129T000000Z-manual-abcd",
        "database_alias": "default",
        "engine": "postgresql",
        "status": "succeeded",
        "started_at": now,
        "finished_at": now,
        "stored_size": 1000,
        **fields,
    }
    return BackupRecord.objects.create(**values)


def test_staff_without_the_permission_get_403_and_see_no_restore_link(
    ops_settings: Any, redis_cache: str, staff_only: Any, operator: Any
) -> None:
    record = _row()
    staff = client_for(staff_only)
    assert staff.get(restore_url(record)).status_code == 403
    assert staff.post(restore_url(record), {"confirm": "RESTORE"}).status_code == 403
    for page in (
        "/admin/nzila_ops/backuprecord/",
        f"/admin/nzila_ops/backuprecord/{record.pk}/change/",
    ):
        response = staff.get(page)
        assert response.status_code == 200 and "ops-restore-link" not in response.content.decode()
        shown = client_for(operator).get(page).content.decode()
        assert f'href="{restore_url(record)}"' in shown
    assert RestoreRecord.objects.count() == 0
    # Nor may they follow a restore someone else started.
    running = progress_store.new_request_id()
    progress_store.new_progress(running, database="default", backup=record.name)
    assert staff.get(progress_url(running, json=True)).status_code == 403
    assert staff.get(progress_url(running)).status_code == 403
    assert client_for(operator).get(progress_url(running, json=True)).status_code == 200


def test_a_wrong_word_is_refused_and_nothing_changes(
    ops_settings: Any,
    redis_cache: str,
    seeded_postgres: dict,
    live_db: str,
    operator: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    record = take_backup()
    client = client_for(operator)
    page = client.get(restore_url(record)).content.decode()
    assert 'id="ops-restore-form"' in page and 'name="confirm"' in page
    assert f"{live_db}_pre_restore_&lt;time&gt;" in page  # what the current one is kept as
    before = pg.snapshot(live_db, TABLES)

    with caplog.at_level(logging.WARNING, logger="nzila_ops"):
        for word in ("restore", "RESTORE ", "yes", ""):
            response = client.post(restore_url(record), {"confirm": word, "storage": "default"})
            assert response.status_code == 400
            assert "Type RESTORE exactly" in response.content.decode()

    assert RestoreRecord.objects.count() == 0
    assert progress_store.running_restore("default") is None
    assert pg.databases_like(f"{live_db}_pre_restore_") == []
    assert pg.snapshot(live_db, TABLES) == before
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    # No row for a refusal (nothing ran): the line is its audit, whole in itself (docs/backups.md).
    assert len(refusals) == 4, refusals
    for line in refusals:
        assert re.search(
            rf"backup {record.name} into database 'default' by olga from {re.escape(ADDRESS)}"
            r" refused at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: the confirmation was not RESTORE",
            line,
        ), line


@pytest.mark.slow
def test_restore_brings_the_backup_back_shows_each_phase_and_names_the_kept_copy(
    ops_settings: Any,
    redis_cache: str,
    seeded_postgres: dict,
    live_db: str,
    operator: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = client_for(operator)  # its session is in the backup, so it survives the swap
    record = take_backup()
    before = pg.snapshot(live_db, TABLES)
    call_command("seed_demo", vehicles=350, stdout=StringIO())

    with caplog.at_level(logging.WARNING, logger="nzila_ops"):
        response = client.post(
            restore_url(record),
            {"confirm": "RESTORE", "storage": "default"},
            HTTP_X_FORWARDED_FOR="203.0.113.9",  # written by the client: not trusted
        )

    assert response.status_code == 303
    request_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert pg.snapshot(live_db, TABLES) == before
    audit = RestoreRecord.objects.get(backup_name=record.name)
    assert (audit.result, audit.started_by, audit.requested_from) == (
        "succeeded",
        "admin:olga",
        ADDRESS,
    )
    assert audit.previous_database.startswith(f"{live_db}_pre_restore_")
    assert pg.databases_like(f"{live_db}_pre_restore_") == [audit.previous_database]

    state = client.get(progress_url(request_id, json=True)).json()
    assert state["state"] == "succeeded" and state["kept"] == audit.previous_database
    assert [p["name"] for p in state["phases"]] == ["fetch", "restore", "verify", "swap"]
    assert {p["state"] for p in state["phases"]} == {"done"}
    starts = [p["started_at"] for p in state["phases"]]
    assert starts == sorted(starts) and all(starts)

    page = client.get(progress_url(request_id)).content.decode()
    assert f'<code id="ops-restore-kept">{audit.previous_database}</code>' in page
    assert 'id="ops-restore-outcome" data-state="succeeded"' in page
    # The claim was released: another restore may start.
    assert progress_store.running_restore("default") is None
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("nzila_ops.restore_a")]
    assert any("asked for by olga from 10.20.30.40" in line for line in lines)
    assert any("restored; the previous database is kept as" in line for line in lines)
    # A browser that lost its session with the swap follows by its signed cookie alone.
    follower = Client()
    follower.cookies["nzila_ops_restore"] = client.cookies["nzila_ops_restore"].value
    assert follower.get(progress_url(request_id, json=True)).json()["state"] == "succeeded"
    assert 'id="ops-restore-kept"' in follower.get(progress_url(request_id)).content.decode()
    assert Client().get(progress_url(request_id, json=True)).status_code == 403
    assert Client().get(progress_url(request_id))["Location"].startswith("/admin/login/")
    unsigned = Client()
    unsigned.cookies["nzila_ops_restore"] = request_id
    assert unsigned.get(progress_url(request_id, json=True)).status_code == 403
    other = progress_store.new_request_id()  # the cookie names one restore, not every one
    progress_store.new_progress(other, database="default", backup=record.name)
    assert follower.get(progress_url(other, json=True)).status_code == 403


def test_a_second_restore_of_the_database_is_refused_while_one_runs(
    ops_settings: Any,
    redis_cache: str,
    seeded_postgres: dict,
    live_db: str,
    operator: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    record = take_backup()
    running = progress_store.new_request_id()
    assert progress_store.claim_restore("default", running) is None
    # A lost task's claim frees itself: it has a time to live (a running one's is refreshed).
    ttl = redis_ttl(redis_cache, progress_store._claim_key("default"))
    assert 0 < ttl <= progress_store.QUEUED_CLAIM_SECONDS
    client = client_for(operator)
    assert progress_url(running) in client.get(restore_url(record)).content.decode()

    with caplog.at_level(logging.WARNING, logger="nzila_ops"):
        response = client.post(restore_url(record), {"confirm": "RESTORE", "storage": "default"})

    assert response.status_code == 409
    assert "already running" in response.content.decode()
    [line] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert re.search(
        rf"backup {record.name} into database 'default' by olga from 10\.20\.30\.40 refused at"
        r" \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: a restore of database 'default'",
        line,
    ), line
    assert RestoreRecord.objects.count() == 0
    assert progress_store.running_restore("default") == running
    assert pg.databases_like(f"{live_db}_pre_restore_") == []
    progress_store.release_claim("default", running)
    assert progress_store.running_restore("default") is None


def test_a_failed_restore_shows_its_error_and_leaves_the_live_database(
    ops_settings: Any,
    backup_dir: Any,
    redis_cache: str,
    seeded_postgres: dict,
    live_db: str,
    operator: Any,
) -> None:
    client = client_for(operator)
    record = take_backup()
    flip_byte(backup_dir / only_manifest(backup_dir)["object"]["key"], -100)
    call_command("seed_demo", vehicles=320, stdout=StringIO())
    live_now = pg.snapshot(live_db, TABLES)

    response = client.post(restore_url(record), {"confirm": "RESTORE", "storage": "default"})

    assert response.status_code == 303
    assert pg.snapshot(live_db, TABLES) == live_now
    audit = RestoreRecord.objects.get()
    assert (audit.result, audit.requested_from) == ("failed", ADDRESS) and audit.error
    page = client.get(response["Location"]).content.decode()
    assert 'data-state="failed"' in page and "Restore failed:" in page
    assert audit.error.splitlines()[0][:40] in page
    assert '<li data-phase="fetch" class="failed">' in page
    assert progress_store.running_restore("default") is None


def test_progress_is_written_to_the_shared_cache_phase_by_phase(redis_cache: str) -> None:
    """What the page polls, as a worker in another process writes it."""
    request_id = progress_store.new_request_id()
    progress = progress_store.CacheProgress(
        progress_store.new_progress(request_id, database="default", backup="b")
    )
    seen = []
    progress.start()
    for name in progress_store.PHASES:
        progress.phase(name)
        state = progress_store.read_progress(request_id)
        assert state is not None
        seen.append([(p["name"], p["state"]) for p in state["phases"] if p["state"] != "pending"])
    progress.succeeded("kept_db", "live_db")
    assert seen == [
        [("fetch", "running")],
        [("fetch", "done"), ("restore", "running")],
        [("fetch", "done"), ("restore", "done"), ("verify", "running")],
        [("fetch", "done"), ("restore", "done"), ("verify", "done"), ("swap", "running")],
    ]
    final = progress_store.read_progress(request_id)
    assert final is not None and final["state"] == "succeeded" and final["kept"] == "kept_db"


def test_the_form_needs_its_csrf_token_and_a_post(
    ops_settings: Any, redis_cache: str, operator: Any
) -> None:
    record = _row()
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=ADDRESS)
    client.force_login(operator)
    response = client.post(restore_url(record), {"confirm": "RESTORE", "storage": "default"})
    assert response.status_code == 403
    assert client_for(operator).put(restore_url(record)).status_code == 405
    assert (
        client_for(operator).post(progress_url(progress_store.new_request_id())).status_code == 405
    )
    assert progress_store.running_restore("default") is None
    assert RestoreRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"status": "failed"}, "it is failed"),
        ({"database_alias": "elsewhere"}, "elsewhere"),  # not a database of this host
        ({}, "no backup named"),  # in the catalog, not in storage
    ],
)
def test_a_backup_that_cannot_be_restored_says_why_and_offers_no_form(
    ops_settings: Any, redis_cache: str, operator: Any, fields: dict, problem: str
) -> None:
    record = _row(**fields)
    client = client_for(operator)
    page = client.get(restore_url(record)).content.decode()
    assert 'id="ops-restore-problem"' in page and problem in page
    assert 'id="ops-restore-form"' not in page
    response = client.post(restore_url(record), {"confirm": "RESTORE", "storage": "default"})
    assert response.status_code == 400 and problem in response.content.decode()
    assert progress_store.running_restore(record.database_alias) is None
    assert RestoreRecord.objects.count() == 0


def test_the_restore_page_says_when_the_backup_was_taken_with_zone_and_age(
    ops_settings: Any, redis_cache: str, operator: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from nzila_ops.formats import local_time

    taken = timezone.now() - timedelta(hours=3)
    record = _row(started_at=taken - timedelta(minutes=1), finished_at=taken)
    page = client_for(operator).get(restore_url(record)).content.decode()
    facts = page.split("Taken at", 1)[1].split("</tr>", 1)[0]
    assert local_time(taken) in facts and "3 h 00 min ago" in facts


def test_the_progress_page_says_when_the_restore_started_with_zone_and_age(
    redis_cache: str, operator: Any
) -> None:
    from django.utils.dateparse import parse_datetime

    from nzila_ops.formats import local_time

    request_id = progress_store.new_request_id()
    progress = progress_store.CacheProgress(
        progress_store.new_progress(
            request_id,
            database="default",
            backup="b",
            storage="default",
            started_by="admin:operator",
        )
    )
    progress.start()
    progress.phase("fetch")
    state = progress_store.read_progress(request_id)
    assert state is not None
    started = parse_datetime(state["phases"][0]["started_at"])
    page = client_for(operator).get(progress_url(request_id)).content.decode()
    assert "; started <time" in page and local_time(started) in page
