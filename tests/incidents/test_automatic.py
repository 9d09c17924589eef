"""Automatic incidents: real health flips, a failed backup, a failed drill, an RPO breach and a
failed restore open one; their recovery resolves it."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

from nzila_ops.backups.rpo import watch_rpo
from nzila_ops.backups.service import run_backup
from nzila_ops.health.uptime import sample_health
from nzila_ops.models import Incident
from tests.support import pg
from tests.support.redis_server import PrivateRedis

pytestmark = pytest.mark.postgres
REDIS = "nzila_ops.health.checks.redis.RedisCheck"


def timeline(incident: Incident) -> list[str]:
    return list(incident.events.exclude(kind="paged").values_list("kind", flat=True))


def watch_redis(settings: Any, redis: PrivateRedis) -> None:
    settings.NZILA_OPS = {
        **settings.NZILA_OPS,
        "HEALTH_CHECKS": [{"CHECK": REDIS, "OPTIONS": {"url": redis.url}}],
        "HEALTH_FAILURES_BEFORE_DOWN": 2,
        "HEALTH_TIMEOUT_SECONDS": 0.5,
    }


def test_a_component_going_down_opens_one_incident_and_coming_back_resolves_it(
    transactional_db: Any, settings: Any, private_redis: PrivateRedis
) -> None:
    t0 = timezone.now()
    watch_redis(settings, private_redis)
    sample_health(t0)  # the first sample: ok
    with private_redis.stopped():  # the server hangs: redis is down
        sample_health(t0 + timedelta(minutes=1))
        assert not Incident.objects.exists()  # one failing sample is not an outage yet
        sample_health(t0 + timedelta(minutes=2))
        incident = Incident.objects.get()
        sample_health(t0 + timedelta(minutes=3))  # still down: no flip, nothing new
    assert (incident.component, incident.key, incident.severity) == ("redis", "redis", "P1")
    assert incident.source == "health" and incident.title == "redis is DOWN"
    # Detected at the first failing sample, though down was decided at the second.
    assert incident.detected_at == t0 + timedelta(minutes=1)
    assert timeline(incident) == ["opened"]

    sample_health(t0 + timedelta(minutes=4))
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_at == t0 + timedelta(minutes=4)
    assert incident.resolved_by == "nzila_ops"
    assert timeline(incident) == ["opened", "resolved"]
    assert [m.subject.split(": ", 1)[0] for m in mail.outbox] == [
        f"[nzila_ops] P1 incident #{incident.pk} opened",
        f"[nzila_ops] P1 incident #{incident.pk} resolved by nzila_ops",
    ]


def test_a_failed_backup_opens_an_incident_and_the_next_good_backup_resolves_it(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    good_dump = ops_settings.NZILA_OPS.get("PG_DUMP", "pg_dump")
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "PG_DUMP": "/nowhere/pg_dump",
                              "NOTIFY_ON_SUCCESS": "off"}  # fmt: skip
    for _ in range(2):
        with pytest.raises(CommandError):
            call_command("backup_database", stdout=StringIO())
    incident = Incident.objects.get()
    assert (incident.component, incident.severity, incident.source) == (
        "backup:default", "P1", "backup",
    )  # fmt: skip
    assert timeline(incident) == ["opened", "repeated"]
    assert "Error: /nowhere/pg_dump not found" in incident.events.first().detail
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "PG_DUMP": good_dump}
    record = run_backup("default")
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_at == record.finished_at
    assert len(mail.outbox) == 2  # opened, resolved: the repeat mailed nobody


def test_a_failed_drill_opens_an_incident_and_a_passing_drill_resolves_it(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    run_backup("default")
    target = ops_settings.NZILA_OPS.get("RTO_TARGET_SECONDS", 3600)
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "RTO_TARGET_SECONDS": 0.001}
    with pytest.raises(CommandError):
        call_command("run_dr_drill", stdout=StringIO())
    incident = Incident.objects.get()
    assert (incident.component, incident.severity, incident.source) == (
        "drill:default", "P2", "drill",
    )  # fmt: skip
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "RTO_TARGET_SECONDS": target}
    call_command("run_dr_drill", stdout=StringIO())
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.source == "drill"


def test_an_rpo_breach_opens_an_incident_and_its_end_resolves_it(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "NOTIFY_ON_SUCCESS": "off"}
    watch_rpo()  # no backup at all
    watch_rpo()
    incident = Incident.objects.get()
    assert (incident.component, incident.severity, incident.title) == (
        "rpo:default", "P1", "RPO BREACHED for 'default'",
    )  # fmt: skip
    assert timeline(incident) == ["opened"]  # the watch reports changes only
    run_backup("default")
    watch_rpo()
    incident.refresh_from_db()
    assert incident.status == "resolved"
    with time_machine.travel(timezone.now() + timedelta(minutes=21)):
        watch_rpo()
    assert Incident.objects.filter(status="triggered", key="rpo:default").count() == 1


def test_the_backup_freshness_check_and_failed_backups_are_one_component(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "PG_DUMP": "/nowhere/pg_dump",
        "HEALTH_CHECKS": [{"CHECK": "nzila_ops.health.checks.backups.BackupFreshnessCheck",
                           "NAME": "backup_freshness", "OPTIONS": {"alias": "default"}}],
        "HEALTH_FAILURES_BEFORE_DOWN": 1,
    }  # fmt: skip
    with pytest.raises(CommandError):
        call_command("backup_database", stdout=StringIO())
    sample_health()  # no good backup: the freshness check fails from its first sample
    incident = Incident.objects.get()
    assert incident.component == "backup:default"
    assert timeline(incident) == ["opened", "repeated"]


def test_a_failed_restore_opens_an_incident_and_a_successful_one_resolves_it(
    ops_settings: Any, seeded_postgres: dict, backup_dir: Path
) -> None:
    live = connections["default"].settings_dict["NAME"]
    try:
        broken = run_backup("default")
        obj = next(p for p in backup_dir.rglob("*") if p.is_file() and broken.name in p.name
                   and not p.name.endswith(".manifest.json"))  # fmt: skip
        obj.write_bytes(obj.read_bytes()[:100])  # truncated in storage
        with pytest.raises(CommandError, match="truncated or replaced"):
            call_command("restore_database", "--backup", broken.name, "--no-input",
                         stdout=StringIO())  # fmt: skip
        incident = Incident.objects.get()
        assert (incident.component, incident.severity, incident.source) == (
            "restore:default", "P1", "restore",
        )  # fmt: skip
        assert incident.title == "Restore of 'default' FAILED (live database unchanged)"
        # A backup that holds the open incident, restored: the restored database resolves it.
        good = run_backup("default")
        call_command("restore_database", "--backup", good.name, "--no-input", stdout=StringIO())
        incident = Incident.objects.get()
        assert incident.status == "resolved" and incident.source == "restore"
        assert incident.events.get(kind="resolved").detail == f"backup {good.name} restored"
    finally:
        for leftover in pg.databases_like(f"{live}_"):
            pg.drop_database(leftover)


def test_a_failure_the_database_cannot_record_is_still_mailed(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "PG_DUMP": "/nowhere/pg_dump"}
    with connections["default"].cursor() as cursor:
        cursor.execute("ALTER TABLE nzila_ops_incident RENAME TO nzila_ops_incident_away")
    try:
        with pytest.raises(CommandError):
            call_command("backup_database", stdout=StringIO())
    finally:
        with connections["default"].cursor() as cursor:
            cursor.execute("ALTER TABLE nzila_ops_incident_away RENAME TO nzila_ops_incident")
    assert [m.subject for m in mail.outbox] == [
        "[nzila_ops] P1 incident (NOT RECORDED) opened: Backup of 'default' FAILED"
    ]
    body = mail.outbox[0].body
    assert "Error: /nowhere/pg_dump not found" in body
    assert 'Not recorded: relation "nzila_ops_incident" does not exist' in body
    assert not Incident.objects.exists()


def test_a_component_failing_from_its_very_first_sample_opens_an_incident(
    transactional_db: Any, settings: Any, private_redis: PrivateRedis
) -> None:
    watch_redis(settings, private_redis)
    t0 = timezone.now()
    with private_redis.stopped():
        # Nothing known before: the first failing sample alone pages nobody (a cold first
        # check after a deploy); the second in a row confirms it, detected at the first.
        sample_health(t0)
        assert not Incident.objects.exists()
        sample_health(t0 + timedelta(minutes=1))
    incident = Incident.objects.get()
    assert (incident.component, incident.detected_at, incident.status) == ("redis", t0, "triggered")


def test_a_down_component_the_database_cannot_record_is_still_mailed_once(
    transactional_db: Any, settings: Any, private_redis: PrivateRedis
) -> None:
    # The sampler keeps its state in the database: when that is what is down, the failing
    # critical components go to the notifiers directly, once in a while, not never.
    from django.core.cache import cache

    from nzila_ops.incidents.unrecorded import CACHE_PREFIX

    cache.delete(f"{CACHE_PREFIX}redis")
    watch_redis(settings, private_redis)
    with connections["default"].cursor() as cursor:
        cursor.execute("ALTER TABLE nzila_ops_componentstate RENAME TO nzila_ops_componentstate_x")
    try:
        with private_redis.stopped():
            for minute in range(3):  # every sample fails to record; one mail
                with pytest.raises(Exception, match="nzila_ops_componentstate"):
                    sample_health(timezone.now() + timedelta(minutes=minute))
    finally:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "ALTER TABLE nzila_ops_componentstate_x RENAME TO nzila_ops_componentstate"
            )
        cache.delete(f"{CACHE_PREFIX}redis")
    assert [m.subject for m in mail.outbox] == [
        "[nzila_ops] P1 incident (NOT RECORDED) opened: redis is DOWN"
    ]
    assert "Not recorded (the database cannot be written" in mail.outbox[0].body
    assert not Incident.objects.exists()
