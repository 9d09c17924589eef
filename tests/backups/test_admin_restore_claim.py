"""One admin restore of a database at a time, through the shared cache (real Redis): the claim,
a worker that dies, a claim taken while a restore waited in the queue."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.core.cache import cache
from django.utils import timezone

from nzila_ops.backups import restore_progress as progress_store
from nzila_ops.backups.admin_restore_service import RestoreRefused, run_admin_restore
from nzila_ops.backups.restorers import get_restorer
from nzila_ops.exceptions import OpsError
from nzila_ops.models import RestoreRecord
from tests.backups.admin_restore_support import (
    REDIS_URL,
    client_for,
    progress_url,
    restore_url,
    take_backup,
)
from tests.backups.helpers import APP_TABLES
from tests.support import pg

pytestmark = pytest.mark.postgres


def test_the_claim_is_taken_once(redis_cache: str) -> None:
    first, second = progress_store.new_request_id(), progress_store.new_request_id()
    assert progress_store.claim_restore("default", first) is None
    assert progress_store.claim_restore("default", second) == first
    assert progress_store.claim_restore("other", second) is None  # per database
    progress_store.release_claim("default", second)  # not its own: stays
    assert progress_store.running_restore("default") == first
    progress_store.release_claim("default", first)
    with progress_store.claim_heartbeat("default", second):
        assert progress_store.claim_restore("default", second) is None  # a task re-claims
        assert progress_store.running_restore("default") == second
    assert progress_store.running_restore("default") is None  # released when it ends


def test_a_restore_whose_worker_died_is_shown_lost(redis_cache: str, operator: Any) -> None:
    request_id = progress_store.new_request_id()
    assert progress_store.claim_restore("default", request_id) is None
    state = progress_store.new_progress(request_id, database="default", backup="b")
    progress = progress_store.CacheProgress(state)
    progress.start()
    progress.phase("fetch")
    client = client_for(operator)
    assert client.get(progress_url(request_id, json=True)).json()["state"] == "running"
    assert 'data-finished="false"' in client.get(progress_url(request_id)).content.decode()

    # The worker was killed: its heartbeat stopped, the claim expired, and it has written
    # nothing since (its last write older than a claim's life).
    cache.delete(progress_store._claim_key("default"))
    assert client.get(progress_url(request_id, json=True)).json()["state"] == "running"
    old = timezone.now() - timedelta(seconds=progress_store.CLAIM_SECONDS + 1)
    cache.set(progress_store._progress_key(request_id), {**state, "updated_at": old.isoformat()})

    shown = client.get(progress_url(request_id, json=True)).json()
    assert shown["state"] == "lost" and shown["finished"] is True
    page = client.get(progress_url(request_id)).content.decode()
    assert 'data-state="lost"' in page and "stopped answering" in page
    assert 'data-finished="true"' in page  # the page's script stops polling (and reloading)


def _flush(prefix: str) -> None:
    """What FLUSHDB (or eviction) does to this test's keys, without touching other tests'."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
    finally:
        client.close()


def test_a_cache_flushed_mid_restore_neither_loses_the_restore_nor_frees_the_database(
    redis_cache: str, operator: Any
) -> None:
    """The flush comes during a long silent phase (pg_restore writes nothing for minutes): the
    heartbeat puts back both the claim and the progress the worker last wrote."""
    request_id, second = progress_store.new_request_id(), progress_store.new_request_id()
    assert progress_store.claim_restore("default", request_id) is None
    progress = progress_store.CacheProgress(
        progress_store.new_progress(request_id, database="default", backup="b")
    )
    client = client_for(operator)
    with progress_store.claim_heartbeat("default", request_id, every=0.05, progress=progress):
        progress.start()
        progress.phase("restore")
        _flush(redis_cache)  # and the worker writes nothing after it

        # A bounded wait for the heartbeat's next beats, not a measure of time.
        deadline = time.monotonic() + 10
        while (
            progress_store.read_progress(request_id) is None
            or progress_store.running_restore("default") != request_id
        ):
            assert time.monotonic() < deadline, "the heartbeat never put the restore back"
            time.sleep(0.02)
        shown = client.get(progress_url(request_id, json=True)).json()
        assert shown["state"] == "running"  # not "lost", nor an unknown restore (404)
        assert [p["state"] for p in shown["phases"]] == ["pending", "running", "pending", "pending"]
        assert progress_store.claim_restore("default", second) == request_id
    assert progress_store.running_restore("default") is None


def test_a_queued_restore_does_not_run_when_another_took_the_database_meanwhile(
    redis_cache: str, transactional_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    queued, other = progress_store.new_request_id(), progress_store.new_request_id()
    progress_store.new_progress(queued, database="default", backup="b")
    assert progress_store.claim_restore("default", other) is None  # the queued one's expired

    with (
        caplog.at_level(logging.WARNING, logger="nzila_ops"),
        pytest.raises(RestoreRefused, match="started while this one was queued"),
    ):
        run_admin_restore(queued, "default", "b", "default", "olga", "10.0.0.1")

    state = progress_store.read_progress(queued)
    assert state is not None and state["state"] == "failed"
    assert progress_store.running_restore("default") == other
    # Accepted on the page (303), refused by the worker: audited all the same.
    audit = RestoreRecord.objects.get()
    assert (audit.result, audit.started_by, audit.requested_from, audit.backup_name) == (
        "failed",
        "admin:olga",
        "10.0.0.1",
        "b",
    )
    assert "started while this one was queued" in audit.error
    assert audit.verification == {"storage": "default"}
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refused and "by olga from 10.0.0.1" in refused[0], refused


def test_a_restore_the_worker_cannot_begin_is_audited_as_failed(
    ops_settings: Any, redis_cache: str, transactional_db: Any
) -> None:
    """The backup went from storage between the page and the worker: nothing is changed, and
    the attempt is recorded with who asked and from where."""
    request_id = progress_store.new_request_id()
    assert progress_store.claim_restore("default", request_id) is None
    gone = "default-20261129T000000Z-manual-abcd"

    with pytest.raises(OpsError, match="no backup named"):
        run_admin_restore(request_id, "default", gone, "default", "olga", "10.0.0.1")

    audit = RestoreRecord.objects.get()
    assert (audit.result, audit.started_by, audit.requested_from, audit.backup_name) == (
        "failed",
        "admin:olga",
        "10.0.0.1",
        gone,
    )
    state = progress_store.read_progress(request_id)
    assert state is not None and state["state"] == "failed" and "no backup named" in state["error"]
    assert progress_store.running_restore("default") is None


def test_a_restore_running_outside_the_admin_makes_the_admin_restore_fail_unchanged(
    ops_settings: Any,
    redis_cache: str,
    seeded_postgres: dict,
    live_db: str,
    operator: Any,
) -> None:
    """The advisory lock of restore_database is the last guard: a command's restore (or a
    drill) holds it, the cache knows nothing of it."""
    client = client_for(operator)
    record = take_backup()
    before = pg.snapshot(live_db, APP_TABLES)
    with get_restorer("default").lock():
        response = client.post(restore_url(record), {"confirm": "RESTORE", "storage": "default"})
    assert response.status_code == 303
    state = client.get(response["Location"] + "json/").json()
    assert state["state"] == "failed" and "another restore or drill" in state["error"]
    assert RestoreRecord.objects.get().result == "failed"
    assert pg.snapshot(live_db, APP_TABLES) == before
    assert pg.databases_like(f"{live_db}_pre_restore_") == []


def test_a_restore_from_a_storage_removed_from_settings_since_it_was_queued_is_audited(
    ops_settings: Any, redis_cache: str, seeded_postgres: dict, live_db: str, backup_dir: Any
) -> None:
    """The page offered a copy in "second-region"; by the time the worker runs, that storage
    is gone from NZILA_OPS['STORAGES']: refused before anything began, its RestoreRecord row
    written all the same (no history document: there is no storage left to keep it in)."""
    record = take_backup()
    before = pg.snapshot(live_db, APP_TABLES)
    stored = sorted(p.relative_to(backup_dir) for p in backup_dir.rglob("*"))
    request_id = progress_store.new_request_id()
    assert progress_store.claim_restore("default", request_id) is None

    with pytest.raises(OpsError, match="'second-region' is not a storage"):
        run_admin_restore(request_id, "default", record.name, "second-region", "olga", "10.0.0.1")

    audit = RestoreRecord.objects.get()
    assert (audit.result, audit.started_by, audit.requested_from, audit.backup_name) == (
        "failed",
        "admin:olga",
        "10.0.0.1",
        record.name,
    )
    assert "'second-region' is not a storage" in audit.error
    assert audit.verification == {"storage": "second-region"}
    state = progress_store.read_progress(request_id)
    assert state is not None and state["state"] == "failed"
    assert "'second-region' is not a storage" in state["error"]
    assert progress_store.running_restore("default") is None
    # Nothing half-changed: the live database, no kept copy, and no document in the primary.
    assert pg.snapshot(live_db, APP_TABLES) == before
    assert pg.databases_like(f"{live_db}_pre_restore_") == []
    assert sorted(p.relative_to(backup_dir) for p in backup_dir.rglob("*")) == stored
