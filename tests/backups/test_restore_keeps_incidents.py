"""Incidents survive a restore. They live in the app's database, the very thing a restore
replaces: restoring an older backup used to remove every incident opened after it was taken,
the one the restore recovers from included, and the SLA report lost them. The incident rows
of the replaced database (kept as <name>_pre_restore_<time>) are carried into the restored one."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

from nzila_ops.backups.restore import restore_database
from nzila_ops.exceptions import VerificationFailed
from nzila_ops.incidents import service
from nzila_ops.models import Incident, IncidentEvent, RestoreRecord
from tests.backups.helpers import flip_byte, only_manifest
from tests.support import pg
from tests.support.host import example_env, manage

pytestmark = pytest.mark.postgres


@pytest.fixture
def live(ops_settings: Any, seeded_postgres: dict, live_db: str) -> str:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "INCIDENT_NOTIFIERS": []}
    return live_db


def open_incident(component: str) -> Incident:
    incident, created = service.open_incident(
        key=f"health:{component}", component=component, severity="P0", source="health",
        title=f"{component} is DOWN",
    )  # fmt: skip
    assert created
    return incident


def timeline(incident: Incident) -> list[tuple[str, str, str]]:
    return [
        (e.kind, e.actor, e.detail)
        for e in IncidentEvent.objects.filter(incident_id=incident.pk).order_by("id")
    ]


def test_incidents_opened_after_the_backup_are_still_there_after_restoring_it(
    live: str, backup_dir: Path
) -> None:
    earlier = open_incident("redis")
    call_command("backup_database", stdout=StringIO())
    # After the backup: the earlier incident is resolved, the database fails and is worked on.
    service.resolve(earlier, by="alice")
    outage = open_incident("database")
    service.acknowledge(outage, by="bob")
    service.add_note(outage, by="bob", text="restoring the 10:00 backup")
    before = {i.pk: timeline(i) for i in (earlier, outage)}

    outcome = restore_database(latest=True, started_by="bob")

    assert outcome.swapped
    carried = {i.pk: (i.key, i.status, i.acknowledged_by) for i in Incident.objects.all()}
    assert carried == {
        earlier.pk: ("health:redis", "resolved", ""),
        outage.pk: ("health:database", "acknowledged", "bob"),
    }
    assert {pk: timeline(Incident(pk=pk)) for pk in before} == before
    # The SLA report reads these times.
    assert Incident.objects.get(pk=outage.pk).detected_at == outage.detected_at
    # The numbers go on from there: a new incident does not reuse one told to the on-call.
    later = open_incident("celery_worker")
    assert later.pk > outage.pk
    assert IncidentEvent.objects.filter(incident=later).get().kind == "opened"


def test_the_failed_restore_incident_survives_and_the_good_restore_resolves_it(
    live: str, backup_dir: Path
) -> None:
    call_command("backup_database", stdout=StringIO())
    stored = backup_dir / only_manifest(backup_dir)["object"]["key"]
    good = stored.read_bytes()
    flip_byte(stored, 200)
    with pytest.raises(VerificationFailed):
        restore_database(latest=True, started_by="bob")
    failed = Incident.objects.get(key="restore:default")
    assert failed.status == "triggered"
    stored.write_bytes(good)

    restore_database(latest=True, started_by="bob")

    # The backup predates it, yet it is there, resolved by the restore: the SLA report counts
    # its time to resolve.
    incident = Incident.objects.get(key="restore:default")
    assert (incident.pk, incident.status, incident.detected_at) == (
        failed.pk,
        "resolved",
        failed.detected_at,
    )
    assert [e.kind for e in incident.events.order_by("id")] == ["opened", "resolved"]


def test_incidents_only_the_backup_knows_are_kept_when_the_replaced_database_was_new(
    live: str, backup_dir: Path
) -> None:
    before_the_loss = open_incident("redis")
    service.add_note(before_the_loss, by="alice", text="cache evictions")
    call_command("backup_database", stdout=StringIO())
    # The database is lost and made again, empty (migrate); the app records a new incident.
    Incident.objects.all().delete()
    since = open_incident("database")

    restore_database(latest=True, started_by="bob")

    assert Incident.objects.get(pk=since.pk).key == "health:database"
    kept = Incident.objects.get(key="health:redis")
    assert kept.detected_at == before_the_loss.detected_at
    assert [(e.kind, e.detail) for e in kept.events.order_by("id")] == [
        ("opened", ""),
        ("note", "cache evictions"),
    ]
    assert Incident.objects.count() == 2


def test_a_restore_into_a_new_target_leaves_the_live_incidents_alone(
    live: str, backup_dir: Path
) -> None:
    call_command("backup_database", stdout=StringIO())
    outage = open_incident("database")

    restore_database(latest=True, target=f"{live}_inspect", started_by="bob")

    assert list(Incident.objects.values_list("pk", "status")) == [(outage.pk, "triggered")]


def test_when_incidents_cannot_be_carried_the_restore_still_succeeds_and_says_where_they_are(
    live: str, backup_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A backup taken before the deliveries table existed: the restored database cannot take
    # the carried rows until it is migrated.
    with connections["default"].cursor() as cursor:
        cursor.execute("ALTER TABLE nzila_ops_delivery RENAME TO nzila_ops_delivery_away")
    call_command("backup_database", stdout=StringIO())
    with connections["default"].cursor() as cursor:
        cursor.execute("ALTER TABLE nzila_ops_delivery_away RENAME TO nzila_ops_delivery")
    outage = open_incident("database")

    outcome = restore_database(latest=True, started_by="bob")

    try:
        assert outcome.swapped
        assert RestoreRecord.objects.get().result == "succeeded"
        assert not Incident.objects.filter(key=outage.key).exists()
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert any(
            "incidents not carried" in message and outcome.previous_database in message
            for message in errors
        ), errors
        kept = pg.snapshot(outcome.previous_database, ["nzila_ops_incident"])
        assert [row[0] for row in kept["nzila_ops_incident"]] == [outage.pk]
    finally:  # the restored table under its name again, for the test database's teardown
        with connections["default"].cursor() as cursor:
            cursor.execute("ALTER TABLE nzila_ops_delivery_away RENAME TO nzila_ops_delivery")


def test_a_sqlite_host_keeps_its_incidents_across_a_restore(
    tmp_path: Path, age_key: tuple[Path, str]
) -> None:
    """The embedded default (make demo): the example project on SQLite, through manage.py."""
    (tmp_path / "backups").mkdir()
    env = example_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path / 'backups'}",
        NZILA_OPS_AGE_RECIPIENTS=age_key[1],
        NZILA_OPS_AGE_IDENTITY_FILE=str(age_key[0]),
    )
    for args in (
        ["migrate", "-v0"],
        ["backup_database"],
        ["incident", "open", "--component", "database", "--title", "db down"],
        ["incident", "note", "1", "restoring the backup"],
        ["restore_database", "--latest", "--no-input"],
        ["incident", "open", "--component", "celery_worker", "--title", "celery down"],
    ):
        result = manage(env, *args)
        assert result.returncode == 0, (args, result.stderr)

    listed = json.loads(manage(env, "incident", "list", "--all", "--json").stdout)
    assert [(i["id"], i["component"]) for i in listed] == [(2, "celery_worker"), (1, "database")]
