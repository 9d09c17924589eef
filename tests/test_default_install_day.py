"""A default install raises nothing over a day.

The default beat schedule (the crontabs setup_schedules installs) is driven through 24 hours
with time-machine: at every minute, each due entry runs as beat would start it - the real
Celery tasks, eagerly (backups are real, of the SQLite alias with a little data; retention, the
RPO watch, the DR drill, the beat heartbeat) - and health sampling runs the backup-freshness
check. Nothing may breach, fail, warn or signal a failure: the defaults must meet the product's
own targets (RPO < 15 min) without an alarm in steady state.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from nzila_ops import signals, tasks
from nzila_ops.health.base import Status
from nzila_ops.health.registry import get_checks
from nzila_ops.models import Incident
from tests.support.cron import fires

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, databases=["default", "sqlite"]),
]

# Noon on a Saturday: the day holds Sunday 04:00, the default DR drill.
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TASKS = {
    task.name: task
    for task in (
        tasks.backup_database_task,
        tasks.enforce_retention_task,
        tasks.run_dr_drill_task,
        tasks.watch_rpo_task,
        tasks.beat_heartbeat_task,
        tasks.backup_digest_task,
        tasks.retry_deliveries_task,
        tasks.check_error_budget_task,
    )
}


class Alarms:
    """Every failure signal sent while the day runs, and every check verdict that is not ok."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.receivers = {
            signals.backup_failed: lambda **kw: self.seen.append(f"backup failed: {kw['reason']}"),
            signals.drill_failed: lambda **kw: self.seen.append(f"drill failed: {kw['reason']}"),
            signals.rpo_changed: self.on_rpo,
        }
        for signal, receiver in self.receivers.items():
            signal.connect(receiver, weak=False)

    def on_rpo(self, **kw: Any) -> None:
        if kw["breached"]:
            self.seen.append(f"RPO breached at {kw['at']:%a %H:%M}: {kw['reason']}")

    def close(self) -> None:
        for signal, receiver in self.receivers.items():
            signal.disconnect(receiver)


def sample_freshness(at: datetime, alarms: Alarms) -> None:
    # Of the default checks, the one the schedule decides (the others need a Celery worker,
    # Redis...); run in this thread, whose database connection the test owns.
    for check in get_checks():
        if check.name.startswith("backup_freshness"):
            result = check.run()
            if result.status is not Status.OK:
                verdict = f"{check.name} {result.status} at {at:%a %H:%M}: {result.reason}"
                alarms.seen.append(verdict)


def run_entry(entry: PeriodicTask, at: datetime, alarms: Alarms) -> str:
    if entry.task == "nzila_ops.sample_health":
        sample_freshness(at, alarms)
        return entry.task
    result = TASKS[entry.task].apply(args=json.loads(entry.args))
    assert result.successful(), f"{entry.name} at {at}: {result.traceback}"
    outcome = result.result or {}
    if entry.task == "nzila_ops.backup_database" and outcome["status"] != "succeeded":
        alarms.seen.append(f"{entry.name} at {at:%a %H:%M}: {outcome}")
    if entry.task == "nzila_ops.run_dr_drill" and outcome["result"] != "passed":
        alarms.seen.append(f"{entry.name} at {at:%a %H:%M}: {outcome}")
    if entry.task == "nzila_ops.watch_rpo":
        alarms.seen += [f"RPO watch at {at:%a %H:%M}: {db} breached"
                        for db, state in outcome.items() if state["breached"]]  # fmt: skip
    if entry.task == "nzila_ops.check_error_budget":
        alarms.seen += [f"error budget at {at:%a %H:%M}: {name} fires"
                        for name, level in outcome["levels"].items() if level["fires"]]  # fmt: skip
    return entry.task


def test_a_default_install_raises_nothing_over_a_day(
    ops_settings: Any, seeded_sqlite: dict[str, int], backup_dir: Path
) -> None:
    # Defaults throughout, but for the database backed up (SQLite: 144 backups in seconds).
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "BACKUP_DATABASES": ["sqlite"]}
    backup_dir.mkdir(exist_ok=True)
    alarms = Alarms()
    ran: dict[str, int] = {}
    try:
        with time_machine.travel(START - timedelta(minutes=3), tick=True) as traveller:
            # The install: schedules, then a first backup (docs/scheduling.md).
            call_command("setup_schedules", stdout=StringIO())
            call_command("backup_database", "--database", "sqlite", stdout=StringIO())
            entries = list(PeriodicTask.objects.select_related("crontab").filter(enabled=True))
            # Within a minute the backup runs last: checks see the oldest the backup gets.
            entries.sort(key=lambda e: e.task == "nzila_ops.backup_database")
            for minute in range(24 * 60):
                at = START + timedelta(minutes=minute)
                traveller.move_to(at)
                for entry in entries:
                    if fires(entry.crontab.schedule, at):
                        task = run_entry(entry, at, alarms)
                        ran[task] = ran.get(task, 0) + 1
    finally:
        alarms.close()
    assert alarms.seen == []
    assert ran["nzila_ops.backup_database"] == 144  # every 10 minutes
    assert ran["nzila_ops.run_dr_drill"] == 1
    assert ran["nzila_ops.enforce_retention"] == 24
    assert ran["nzila_ops.watch_rpo"] == 288
    assert ran["nzila_ops.sample_health"] == 24 * 60
    assert ran["nzila_ops.retry_deliveries"] == 24 * 60
    assert ran["nzila_ops.check_error_budget"] == 288
    assert not Incident.objects.exists()  # and so no incident was opened
