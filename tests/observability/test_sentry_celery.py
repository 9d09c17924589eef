"""Sentry seen from Celery: a failing task is reported with its trace, a task started inside a
traced request continues that trace, and beat entries are Sentry Crons monitors (a check-in
in progress when beat sends the task, then ok or error)."""

from __future__ import annotations

from typing import Any

import pytest
import sentry_sdk
from celery import current_app, shared_task
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from tests.support.sentry_capture import StartSentry, start_sentry_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


@shared_task(name="tests.sentry.settle_payment")
def settle_payment(deal_id: int) -> str:
    return f"settled {deal_id}"


@shared_task(name="tests.sentry.export_vehicle")
def export_vehicle(vin: str) -> None:
    raise LookupError(f"no customs record for {vin}; ask clearing@nzila.example")


def test_a_failing_task_is_reported_with_its_trace(start_sentry: StartSentry) -> None:
    transport = start_sentry(traces_sample_rate=1.0)
    result = export_vehicle.apply(args=("JTDBR32E530012345",))
    assert result.failed()

    (event,) = transport.items("event")
    (transaction,) = transport.items("transaction")
    assert event["exception"]["values"][-1]["type"] == "LookupError"
    assert "[Filtered]" in event["exception"]["values"][-1]["value"]
    assert "clearing@nzila.example" not in transport.serialized()
    assert event["transaction"] == transaction["transaction"] == "tests.sentry.export_vehicle"
    trace_id = transaction["contexts"]["trace"]["trace_id"]
    assert event["contexts"]["trace"]["trace_id"] == trace_id
    assert transaction["contexts"]["trace"]["status"] == "internal_error"


def test_a_task_sent_inside_a_traced_request_continues_its_trace(start_sentry: StartSentry) -> None:
    transport = start_sentry(traces_sample_rate=1.0)
    with sentry_sdk.start_transaction(name="POST /api/deals/", op="http.server") as request:
        settle_payment.delay(41)
    transactions = {t["transaction"]: t for t in transport.items("transaction")}
    task = transactions["tests.sentry.settle_payment"]
    assert task["contexts"]["trace"]["trace_id"] == request.trace_id
    assert transactions["POST /api/deals/"]["contexts"]["trace"]["trace_id"] == request.trace_id


# django-celery-beat's scheduler closes "old" connections, as in production: a test transaction
# would not survive it.
beat = pytest.mark.django_db(transaction=True)


def beat_entry(name: str, task: str, args: str = "[]") -> Any:
    """The entry django-celery-beat's scheduler (the one the host runs) makes of a row."""
    every_ten_minutes, _ = CrontabSchedule.objects.get_or_create(
        minute="*/10", hour="*", day_of_month="*", month_of_year="*", day_of_week="*",
        timezone="UTC",
    )  # fmt: skip
    PeriodicTask.objects.create(name=name, task=task, crontab=every_ten_minutes, args=args)
    scheduler = DatabaseScheduler(app=current_app, lazy=True)
    return scheduler, scheduler.schedule[name]


def checkins(transport: Any) -> list[tuple[str, str, str]]:
    return [(c["monitor_slug"], c["status"], c["check_in_id"]) for c in transport.items("check_in")]


@beat
def test_a_beat_task_is_a_crons_check_in_in_progress_then_ok(start_sentry: StartSentry) -> None:
    transport = start_sentry(traces_sample_rate=0.0)
    scheduler, entry = beat_entry(
        "nzila_ops: settle payments", "tests.sentry.settle_payment", "[7]"
    )
    scheduler.apply_entry(entry, producer=None)

    (started, finished) = checkins(transport)
    assert started[:2] == ("nzila_ops: settle payments", "in_progress")
    assert finished[:2] == ("nzila_ops: settle payments", "ok")
    assert started[2] == finished[2]  # one run: the same check-in, updated
    (first, _) = transport.items("check_in")
    assert first["monitor_config"]["schedule"] == {"type": "crontab", "value": "*/10 * * * *"}
    assert transport.items("event") == []


@beat
def test_a_failing_beat_task_closes_its_check_in_as_error(start_sentry: StartSentry) -> None:
    transport = start_sentry(traces_sample_rate=0.0)
    scheduler, entry = beat_entry("nzila_ops: export", "tests.sentry.export_vehicle", '["VIN1"]')
    scheduler.apply_entry(entry, producer=None)

    assert [c[:2] for c in checkins(transport)] == [
        ("nzila_ops: export", "in_progress"),
        ("nzila_ops: export", "error"),
    ]
    (event,) = transport.items("event")
    assert event["exception"]["values"][-1]["type"] == "LookupError"


@beat
def test_beat_tasks_are_not_monitored_when_turned_off(start_sentry: StartSentry) -> None:
    transport = start_sentry(monitor_beat_tasks=False)
    scheduler, entry = beat_entry("nzila_ops: quiet", "tests.sentry.settle_payment", "[8]")
    scheduler.apply_entry(entry, producer=None)
    assert transport.items("check_in") == []
