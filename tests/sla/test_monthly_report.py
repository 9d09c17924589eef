"""The monthly SLA report e-mail: the previous month's figures, once, through the notifiers."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import DatabaseError, connection, connections

from nzila_ops.models import ComponentFlip, MonthlyReportSend
from nzila_ops.schedules import desired_entries
from nzila_ops.sla.monthly import send_monthly_report
from nzila_ops.tasks import send_sla_report_task

pytestmark = pytest.mark.django_db

FIRST = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # when beat runs it by default
OUTAGE = datetime(2026, 10, 10, 10, 0, tzinfo=UTC)
DEAD_SMTP = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
             "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": 1, "EMAIL_TIMEOUT": 2}  # fmt: skip


@pytest.fixture(autouse=True)
def on_the_first(settings: Any) -> Iterator[Any]:
    settings.NZILA_OPS = {**settings.NZILA_OPS,
                          "SLA": {"COMPONENTS": ["database", "payments_api"]}}  # fmt: skip
    with time_machine.travel(FIRST, tick=False):
        yield settings


@pytest.fixture
def october() -> None:
    """Both components seen from September; the database down for one hour in October, and
    again on November 1st (not in October's report)."""
    for component in ("database", "payments_api"):
        ComponentFlip.objects.create(component=component, old="", new="ok",
                                     at=datetime(2026, 9, 1, tzinfo=UTC))  # fmt: skip
    for start in (OUTAGE, FIRST - timedelta(hours=2)):
        ComponentFlip.objects.create(component="database", old="ok", new="failing", at=start)
        ComponentFlip.objects.create(component="database", old="failing", new="ok",
                                     at=start + timedelta(hours=1))  # fmt: skip


def test_the_task_mails_the_previous_months_figures_once(october: None) -> None:
    result = send_sla_report_task.delay().get()
    assert result == {"period": "2026-10", "sent": 1, "skipped": False}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@example.com"]
    # 3,600 s down of October's 2,678,400 s: 99.8655 %, shown floored as 99.865 %; the 10 % tier.
    assert message.subject == (
        "[nzila_ops] SLA report 2026-10: uptime 99.865 % (target MISSED, service credit 10 %)"
    )
    body = message.body
    assert body.startswith(
        "SLA report 2026-10 (2026-10-01 00:00 UTC to 2026-11-01 00:00 UTC, 31 days)"
    )
    assert "database" in body and "60.00 min" in body  # October's hour, not November's
    assert "44.64 min" in body  # allowed at 99.9 % of 31 days
    assert "?period=2026-10" in body

    assert send_sla_report_task.delay().get() == {"period": "2026-10", "sent": 0, "skipped": True}
    assert len(mail.outbox) == 1  # beat firing twice sends one report


def test_a_month_without_data_is_unknown_not_100_percent() -> None:
    send_sla_report_task()
    assert mail.outbox[0].subject == "[nzila_ops] SLA report 2026-10: uptime unknown (no data)"
    assert "100.000 %" not in mail.outbox[0].body


def test_a_send_that_reached_no_backend_is_tried_again(
    october: None, on_the_first: Any, caplog: Any
) -> None:
    for key, value in DEAD_SMTP.items():
        setattr(on_the_first, key, value)
    assert send_sla_report_task() == {"period": "2026-10", "sent": 0, "skipped": False}
    assert "SLA report 2026-10 reached no notifier backend" in caplog.text
    on_the_first.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_sla_report_task()["sent"] == 1
    assert len(mail.outbox) == 1


def test_a_failing_cache_still_sends_the_report(october: None, on_the_first: Any) -> None:
    on_the_first.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                       "LOCATION": "redis://127.0.0.1:1/14"}}  # fmt: skip
    assert send_sla_report_task()["sent"] == 1
    assert len(mail.outbox) == 1


def test_setup_schedules_installs_it_on_the_first_of_the_month(on_the_first: Any) -> None:
    entries = {entry.name: entry for entry in desired_entries()}
    entry = entries["nzila_ops: monthly SLA report"]
    assert (entry.task, entry.cron, entry.args) == ("nzila_ops.send_sla_report", "0 6 1 * *", ())
    on_the_first.NZILA_OPS = {**on_the_first.NZILA_OPS,
                              "SLA": {"REPORT_CRON": "30 7 1 * *"}}  # fmt: skip
    entry = {e.name: e for e in desired_entries()}["nzila_ops: monthly SLA report"]
    assert entry.cron == "30 7 1 * *"


@pytest.mark.parametrize(
    ("time_zone", "at", "month"),
    [
        ("Pacific/Auckland", FIRST, "2026-10"),  # 19:00 on November 1st there
        ("America/Los_Angeles", FIRST, "2026-09"),  # 23:00 on October 31st: not over yet
        ("America/Los_Angeles", datetime(2026, 11, 1, 12, 0, tzinfo=UTC), "2026-10"),
    ],
)
def test_the_report_is_of_the_last_month_ended_in_the_sla_time_zone(
    on_the_first: Any, time_zone: str, at: datetime, month: str
) -> None:
    on_the_first.NZILA_OPS = {**on_the_first.NZILA_OPS, "SLA": {"TIME_ZONE": time_zone}}
    with time_machine.travel(at, tick=False):
        assert send_sla_report_task()["period"] == month
    assert mail.outbox[0].subject.startswith(f"[nzila_ops] SLA report {month}: ")


@contextlib.contextmanager
def flips_table_missing() -> Iterator[None]:
    """The flips' table out of reach, as in a database failing mid-report."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE nzila_ops_componentflip RENAME TO nzila_ops_componentflip_x")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE nzila_ops_componentflip_x RENAME TO nzila_ops_componentflip"
            )


@pytest.mark.django_db(transaction=True)
def test_a_report_that_failed_to_build_is_sent_by_the_next_run(october: None) -> None:
    with flips_table_missing(), pytest.raises(DatabaseError):
        send_monthly_report()
    assert not MonthlyReportSend.objects.exists()  # the claim was released
    assert send_monthly_report().sent == 1
    assert len(mail.outbox) == 1
    record = MonthlyReportSend.objects.get()
    assert (record.period, record.sent_at, record.backends) == ("2026-10", FIRST, 1)


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_one_report(october: None) -> None:
    start = threading.Barrier(2)
    results: list[Any] = []

    def run() -> None:
        try:
            start.wait()
            results.append(send_monthly_report())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((r.sent, r.skipped) for r in results) == [(0, True), (1, False)]
    assert len(mail.outbox) == 1


def test_a_claim_left_by_a_run_that_died_is_taken_over(october: None) -> None:
    # A worker killed after claiming: its claim neither sent nor released.
    MonthlyReportSend.objects.create(period="2026-10", claimed_at=FIRST - timedelta(hours=2))
    assert send_monthly_report().sent == 1
    assert MonthlyReportSend.objects.get().sent_at == FIRST
    # A recent claim is another run at work: not taken over.
    MonthlyReportSend.objects.filter(period="2026-10").update(
        sent_at=None, claimed_at=FIRST - timedelta(minutes=5)
    )
    assert send_monthly_report().skipped is True
    assert len(mail.outbox) == 1
