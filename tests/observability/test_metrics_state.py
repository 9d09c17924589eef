"""The state collector's catalog part: backups, drills, components and incidents as recorded."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection

from nzila_ops.models import BackupRecord, ComponentState, DrillRecord, Incident
from tests.observability.metrics_scrape import key, names, redis_db_11, scrape

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("metrics_redis")]

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def metrics_redis(settings: Any) -> Iterator[Any]:
    yield from redis_db_11(settings)


@pytest.fixture
def two_databases(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "BACKUP_DATABASES": ["default", "sqlite"]}


def backup(alias: str, status: str, started: datetime, seconds: float, size: int | None) -> None:
    BackupRecord.objects.create(
        name=f"{alias}-{started:%H%M}-{status}", database_alias=alias, engine="postgresql",
        status=status, started_at=started, finished_at=started + timedelta(seconds=seconds),
        stored_size=size,
    )  # fmt: skip


def drill(alias: str, finished: datetime, rto: float | None, result: str) -> None:
    DrillRecord.objects.create(
        database_alias=alias, started_at=finished - timedelta(minutes=20), finished_at=finished,
        rto_seconds=rto, rto_target_seconds=3600, result=result,
    )  # fmt: skip


@pytest.mark.usefixtures("two_databases")
def test_backup_metrics_are_the_newest_successful_backup_not_a_newer_failed_one() -> None:
    backup("default", "succeeded", NOW - timedelta(hours=6), 300, 500)
    # The newest good one: finished exactly 3 h ago, 600 s long, 4096 bytes.
    backup("default", "succeeded", NOW - timedelta(hours=3, minutes=10), 600, 4096)
    backup("default", "failed", NOW - timedelta(hours=1), 60, 99)
    backup("sqlite", "failed", NOW - timedelta(hours=2), 10, None)
    with time_machine.travel(NOW, tick=False):
        samples = scrape()
    db = {"database": "default"}
    assert samples[key("nzila_backup_age_seconds", **db)] == pytest.approx(10800)
    assert samples[key("nzila_backup_last_success_timestamp_seconds", **db)] == (
        (NOW - timedelta(hours=3)).timestamp()
    )
    assert samples[key("nzila_backup_duration_seconds", **db)] == 600
    assert samples[key("nzila_backup_size_bytes", **db)] == 4096
    # Never a good backup: the worst age, and nothing else made up.
    assert math.isinf(samples[key("nzila_backup_age_seconds", database="sqlite")])
    assert key("nzila_backup_size_bytes", database="sqlite") not in samples
    assert key("nzila_backup_last_success_timestamp_seconds", database="sqlite") not in samples
    assert samples[key("nzila_metrics_collector_up", part="catalog")] == 1


@pytest.mark.usefixtures("two_databases")
def test_drill_metrics_are_the_latest_drill_of_each_database() -> None:
    drill("default", NOW - timedelta(days=7), 1200, "passed")
    drill("default", NOW - timedelta(days=1), None, "failed")
    drill("sqlite", NOW - timedelta(days=2), 300, "passed")
    samples = scrape()
    assert samples[key("nzila_drill_last_passed", database="default")] == 0
    assert samples[key("nzila_drill_last_run_timestamp_seconds", database="default")] == (
        (NOW - timedelta(days=1)).timestamp()
    )
    # The latest drill failed before measuring: no RTO rather than last week's.
    assert key("nzila_drill_rto_seconds", database="default") not in samples
    assert samples[key("nzila_drill_rto_seconds", database="sqlite")] == 300
    assert samples[key("nzila_drill_last_passed", database="sqlite")] == 1


def test_rpo_and_rto_targets_follow_the_settings(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "RPO_TARGET_SECONDS": 600}
    samples = scrape()
    assert samples[key("nzila_rpo_target_seconds")] == 600
    assert samples[key("nzila_rto_target_seconds")] == 3600


def state(component: str, status: str) -> None:
    ComponentState.objects.create(
        component=component, status=status, since=NOW, last_sampled_at=NOW
    )


def test_component_up_and_status_per_recorded_state_of_each_configured_check() -> None:
    state("database", "ok")
    state("redis", "warning")
    state("celery_beat", "failing")  # not critical by default
    state("check_removed_from_settings", "failing")
    with time_machine.travel(NOW, tick=False):
        samples = scrape()
    up = {labels: v for (name, labels), v in samples.items() if name == "nzila_component_up"}
    assert up == {
        (("component", "celery_beat"), ("critical", "false")): 0,
        (("component", "database"), ("critical", "true")): 1,
        (("component", "redis"), ("critical", "true")): 1,
    }
    for status in ("ok", "warning", "failing"):
        expected = 1 if status == "warning" else 0
        assert samples[key("nzila_component_status", component="redis", status=status)] == expected
    assert samples[key("nzila_component_last_sampled_timestamp_seconds", component="database")] == (
        NOW.timestamp()
    )


def test_a_component_not_sampled_lately_is_unknown_neither_up_nor_down() -> None:
    state("database", "ok")
    state("redis", "failing")
    # The sampler stopped: 181 s after the last sample, past HEALTH_SAMPLE_GAP_SECONDS (180).
    with time_machine.travel(NOW + timedelta(seconds=181), tick=False):
        samples = scrape()
    assert not [labels for name, labels in samples if name == "nzila_component_up"]
    for component in ("database", "redis"):
        for status in ("ok", "warning", "failing", "unknown"):
            expected = 1 if status == "unknown" else 0
            assert samples[key("nzila_component_status", component=component, status=status)] == (
                expected
            )
    with time_machine.travel(NOW + timedelta(seconds=180), tick=False):
        samples = scrape()
    assert samples[key("nzila_component_up", component="redis", critical="true")] == 0
    assert samples[key("nzila_component_status", component="redis", status="unknown")] == 0


def incident(number: int, severity: str, status: str, is_drill: bool = False) -> None:
    Incident.objects.create(
        severity=severity, status=status, component=f"c{number}", title="t", source="manual",
        key=f"k{number}", detected_at=NOW, is_drill=is_drill,
    )  # fmt: skip


def test_incidents_open_by_severity_all_four_present_and_drills_excluded() -> None:
    incident(1, "P0", "triggered")
    incident(2, "P0", "acknowledged")
    incident(3, "P1", "triggered")
    incident(4, "P2", "resolved")
    incident(5, "P1", "triggered", is_drill=True)
    samples = scrape()
    open_ = {
        dict(labels)["severity"]: v
        for (n, labels), v in samples.items()
        if n == "nzila_incidents_open"
    }
    assert open_ == {"P0": 2, "P1": 1, "P2": 0, "P3": 0}


def test_a_failing_catalog_query_drops_only_its_own_metrics() -> None:
    backup("default", "succeeded", NOW, 60, 10)
    drill("default", NOW, 100, "passed")
    incident(1, "P3", "triggered")
    with connection.cursor() as cursor:  # undone with the test's transaction
        cursor.execute("ALTER TABLE nzila_ops_backuprecord RENAME TO nzila_ops_backuprecord_gone")
    samples = scrape()
    assert not {n for n in names(samples) if n.startswith("nzila_backup_")}
    assert samples[key("nzila_drill_rto_seconds", database="default")] == 100
    assert samples[key("nzila_incidents_open", severity="P3")] == 1
    assert samples[key("nzila_metrics_collector_up", part="catalog")] == 0
    assert samples[key("nzila_metrics_collector_up", part="celery")] == 1


@pytest.mark.django_db(transaction=True)
def test_a_failing_catalog_query_in_autocommit_spoils_none_of_the_others() -> None:
    # The scrape view's normal state: no transaction around the queries.
    drill("default", NOW, 100, "passed")
    incident(1, "P3", "triggered")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE nzila_ops_backuprecord RENAME TO nzila_ops_backuprecord_gone")
    try:
        samples = scrape()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE nzila_ops_backuprecord_gone RENAME TO nzila_ops_backuprecord"
            )
    assert not {n for n in names(samples) if n.startswith("nzila_backup_")}
    assert samples[key("nzila_drill_rto_seconds", database="default")] == 100
    assert samples[key("nzila_incidents_open", severity="P3")] == 1
    assert samples[key("nzila_metrics_collector_up", part="catalog")] == 0


def test_the_database_unreachable_still_answers_with_the_other_parts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import OperationalError
    from django.db.backends import utils

    attempts = []

    def refused(self: Any, sql: str, params: Any = None) -> Any:
        attempts.append(sql)
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")

    incident(1, "P0", "triggered")
    monkeypatch.setattr(utils.CursorWrapper, "execute", refused)
    samples = scrape()
    monkeypatch.undo()
    catalog = ("nzila_backup_", "nzila_drill_", "nzila_component_", "nzila_incidents_")
    assert not {n for n in names(samples) if n.startswith(catalog)}
    assert samples[key("nzila_metrics_collector_up", part="catalog")] == 0
    assert samples[key("nzila_metrics_collector_up", part="celery")] == 1
    assert samples[key("nzila_celery_queue_length", queue="celery")] == 0
    assert samples[key("nzila_rpo_target_seconds")] == 900
    assert key("nzila_metrics_scrape_duration_seconds") in samples
    # A lost connection stops the catalog at once: each query would wait for its own timeout.
    assert len(attempts) == 1


def test_invalid_settings_give_one_config_part_down_instead_of_an_error(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "METRICS": {"BUSINESS": {"Bad-Name": "a.b"}}}
    assert scrape() == {key("nzila_metrics_collector_up", part="config"): 0}


SCRAPE_SCRIPT = """
from prometheus_client import CollectorRegistry, generate_latest
from nzila_ops.observability.metrics.state import StateCollector
registry = CollectorRegistry()
registry.register(StateCollector())
print(generate_latest(registry).decode())
"""


def test_a_sqlite_host_scrapes_its_state_through_manage_py(tmp_path: Any) -> None:
    """The embedded default (make demo): the same queries on SQLite, in a host's process."""
    from prometheus_client.parser import text_string_to_metric_families

    from tests.observability.metrics_scrape import REDIS_URL
    from tests.support.host import example_env, manage

    env = example_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path / 'backups'}?create=true",
        CELERY_BROKER_URL=REDIS_URL,
    )
    for args in (["migrate", "-v0"], ["seed_demo", "--vehicles", "20"], ["backup_database"]):
        assert manage(env, *args).returncode == 0
    result = manage(env, "shell", "-v0", "-c", SCRAPE_SCRIPT)
    assert result.returncode == 0, result.stderr
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(result.stdout)
        for s in family.samples
    }
    assert samples[key("nzila_backup_size_bytes", database="default")] > 0
    assert samples[key("nzila_business_deals_per_day")] > 0
    for part in ("catalog", "celery", "business"):
        assert samples[key("nzila_metrics_collector_up", part=part)] == 1
