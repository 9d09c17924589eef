"""Each built-in check, passing and failing against the real service."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from nzila_ops.health.base import CheckResult, Status
from nzila_ops.health.checks.backups import BackupFreshnessCheck, BackupStorageCheck
from nzila_ops.health.checks.cache import CacheCheck
from nzila_ops.health.checks.celery import CeleryBeatCheck, CeleryWorkersCheck, record_heartbeat
from nzila_ops.health.checks.database import DatabaseCheck
from nzila_ops.health.checks.redis import RedisCheck
from nzila_ops.health.checks.system import DiskSpaceCheck, MigrationsCheck
from nzila_ops.health.runner import run_checks
from nzila_ops.models import BackupRecord
from tests.support import pg
from tests.support.host import example_env, manage
from tests.support.s3 import free_port

pytestmark = pytest.mark.django_db


def test_database() -> None:
    assert DatabaseCheck().run().status is Status.OK


@pytest.mark.django_db(databases=["default", "sqlite"])
def test_database_on_sqlite() -> None:
    # The embedded default (make demo); its connections differ from PostgreSQL's. Twice, in
    # the runner's threads as in production: the second poll reuses the thread's connection.
    for _ in range(2):
        [result] = run_checks([DatabaseCheck(alias="sqlite")], use_cache=False).results
        assert result.status is Status.OK, result.reason


def test_database_at_a_dead_port_fails_through_check_health(tmp_path: Path) -> None:
    """As an operator would see it: the command against a database nobody listens for."""
    env = example_env(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/gone",
        NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path}",
    )
    result = manage(env, "check_health", "database", "--json", "--skip-checks")
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: failing: database"
    report = json.loads(result.stdout)
    assert report["checks"]["database"]["status"] == "failing"
    assert "refused" in report["checks"]["database"]["reason"].lower()


def test_cache(settings: Any, private_redis: Any) -> None:
    assert CacheCheck().run().status is Status.OK
    settings.CACHES = {
        **settings.CACHES,
        "redis": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": private_redis.url,
        },
        "dead": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        },
    }
    assert CacheCheck(cache="redis").run().status is Status.OK
    assert CacheCheck(cache="dead").run().status is Status.FAILING


def test_redis(private_redis: Any) -> None:
    assert RedisCheck(url=private_redis.url).run().status is Status.OK
    private_redis.close()
    assert RedisCheck(url=private_redis.url).run().status is Status.FAILING


def test_celery_workers_fail_when_none_answers_within_the_timeout() -> None:
    started = time.monotonic()
    result = CeleryWorkersCheck(timeout=1.0).run()
    assert result.status is Status.FAILING and "no Celery worker answered" in result.reason
    assert time.monotonic() - started < 1.0


def test_celery_workers_pass_with_a_worker(celery_worker_process: Any) -> None:
    result = CeleryWorkersCheck(timeout=2.0).run()
    assert result.status is Status.OK, result.reason


@pytest.mark.django_db(transaction=True)
def test_celery_beat_sees_the_heartbeat_a_worker_process_wrote() -> None:
    """With Django's default cache (local memory, one per process), as a host has it unless it
    configures a shared one: the heartbeat a worker writes is seen by the web process."""
    from django.db import connections

    assert "LocMemCache" in settings.CACHES["default"]["BACKEND"]
    call_command("setup_schedules", stdout=StringIO())
    with time_machine.travel(timezone.now() + timedelta(seconds=600)):  # past the first grace
        result = CeleryBeatCheck().run()
    assert (result.status, result.reason) == (
        Status.FAILING,
        "RuntimeError: no beat heartbeat recorded",
    )
    s = connections["default"].settings_dict
    worker = example_env(
        DATABASE_URL=pg.url(s["NAME"]),
        NZILA_OPS_BACKUP_STORAGE="file:///tmp/nzila-health-tests",
    )
    worker.pop("DJANGO_CACHE_URL", None)
    ran = manage(worker, "shell", "-c", "from nzila_ops import tasks; tasks.beat_heartbeat_task()")
    assert ran.returncode == 0, ran.stderr
    result = CeleryBeatCheck().run()
    assert result.status is Status.OK, result.reason
    with time_machine.travel(timezone.now() + timedelta(seconds=100)):
        assert CeleryBeatCheck().run().status is Status.WARNING  # past half of max_age
    with time_machine.travel(timezone.now() + timedelta(seconds=400)):
        result = CeleryBeatCheck().run()
        assert result.status is Status.FAILING and "(limit 180 s)" in result.reason


def test_celery_beat_without_a_first_heartbeat_warns_for_two_intervals_then_fails() -> None:
    """A fresh deploy: setup_schedules has just installed the heartbeat entry, beat has not run
    it yet. That is a warning (no page) for two heartbeat intervals, then a failure."""
    call_command("setup_schedules", stdout=StringIO())
    installed = timezone.now()
    with time_machine.travel(installed + timedelta(seconds=30), tick=False):
        result = CeleryBeatCheck().run()
    assert result.status is Status.WARNING
    assert result.reason.startswith("no beat heartbeat yet: its entry was installed 30 s ago")
    with time_machine.travel(installed + timedelta(seconds=121), tick=False):
        result = CeleryBeatCheck().run()
    assert (result.status, result.reason) == (
        Status.FAILING,
        "RuntimeError: no beat heartbeat recorded",
    )
    record_heartbeat()  # once beat has run it, the heartbeat's own age rules
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        assert CeleryBeatCheck().run().status is Status.OK


def test_celery_beat_says_what_is_missing() -> None:
    from django_celery_beat.models import PeriodicTask

    result = CeleryBeatCheck().run()
    assert result.status is Status.FAILING
    assert "manage.py setup_schedules" in result.reason  # no heartbeat entry at all
    call_command("setup_schedules", stdout=StringIO())
    record_heartbeat()
    assert CeleryBeatCheck().run().status is Status.OK
    PeriodicTask.objects.filter(task="nzila_ops.beat_heartbeat").update(enabled=False)
    result = CeleryBeatCheck().run()
    assert result.status is Status.FAILING and "disabled" in result.reason


def test_backup_storage(settings: Any, tmp_path: Path) -> None:
    settings.NZILA_OPS = {"STORAGES": {"default": f"file://{tmp_path}", "bad": "file:///proc/x"}}
    assert BackupStorageCheck().run().status is Status.OK
    assert BackupStorageCheck(storage="bad").run().status is Status.FAILING


def test_backup_freshness_against_the_rpo(settings: Any) -> None:
    settings.NZILA_OPS = {"STORAGES": {"default": "file:///tmp/x"}}
    assert BackupFreshnessCheck().run().status is Status.FAILING  # none at all
    now = timezone.now()
    record = BackupRecord.objects.create(
        name="b", database_alias="default", engine="postgresql", status="succeeded",
        started_at=now, finished_at=now - timedelta(minutes=5),
        manifest={"storage": {"name": "default", "location": "file:///tmp/x"}},
    )  # fmt: skip
    assert BackupFreshnessCheck().run().status is Status.OK
    BackupRecord.objects.filter(pk=record.pk).update(finished_at=now - timedelta(minutes=17))
    assert BackupFreshnessCheck().run().status is Status.WARNING  # past 15 min, within grace
    BackupRecord.objects.filter(pk=record.pk).update(finished_at=now - timedelta(minutes=25))
    assert BackupFreshnessCheck().run().status is Status.FAILING


@pytest.mark.django_db(transaction=True)
def test_unapplied_migrations_warn() -> None:
    assert MigrationsCheck().run().status is Status.OK
    call_command("migrate", "nzila_ops", "0003", verbosity=0, stdout=StringIO())
    try:
        result = MigrationsCheck().run()
        assert result.status is Status.WARNING and "nzila_ops.0004_recorded_uptime" in result.reason
        assert not result.critical
    finally:
        call_command("migrate", verbosity=0, stdout=StringIO())


def test_disk_space() -> None:
    assert DiskSpaceCheck(path="/").run().status is Status.OK
    assert DiskSpaceCheck(path="/", warn_percent=100).run().status is Status.WARNING
    assert DiskSpaceCheck(path="/", fail_percent=100).run().status is Status.FAILING


def finishes(run: Any, within: float = 30.0) -> CheckResult | None:
    """``run()`` in a thread of its own; None if it is still blocked after ``within`` s (a
    hang detector for a check whose client has no socket timeout, not a timing assertion)."""
    import threading

    done: list[CheckResult] = []
    thread = threading.Thread(target=lambda: done.append(run()), daemon=True)
    thread.start()
    thread.join(within)
    return done[0] if done else None


def test_the_cache_check_gives_up_on_a_hung_redis_by_itself(
    settings: Any, private_redis: Any
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "redis": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": private_redis.url,
        },
    }
    check = CacheCheck(cache="redis", timeout=0.5)
    assert check.run().status is Status.OK
    with private_redis.stopped():
        result = finishes(check.run)
    assert result is not None, "the cache check was still blocked on the hung Redis"
    assert result.status is Status.FAILING and "Timeout" in result.reason


def test_the_celery_workers_check_gives_up_on_a_hung_broker_by_itself(private_redis: Any) -> None:
    from celery import Celery

    def ping_through_the_hung_broker() -> CheckResult:
        # current_app is per thread: this thread's app speaks to the private broker.
        Celery("probe", broker=private_redis.url, set_as_current=True)
        return CeleryWorkersCheck(timeout=0.5).run()

    with private_redis.stopped():
        result = finishes(ping_through_the_hung_broker)
    assert result is not None, "the Celery ping was still blocked on the hung broker"
    assert result.status is Status.FAILING
