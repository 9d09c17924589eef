"""The monthly SLA report, sent through the notifier backends on the 1st (SLA.REPORT_CRON).

It covers the previous calendar month in the SLA time zone, as text (nzila_ops.sla.render,
the same as ``manage.py sla_report --period <month>``), with the headline figures in the
subject. The notifier backends take text only (``Notification`` has no attachments), so the CSV
is not attached: the admin's SLA report page exports it.

Beat may fire twice (two beat processes, a retried task): a month's report is sent once,
guarded in the database (``MonthlyReportSend``, one row per period, claimed with a unique
insert, shared by every host). A run that fails (the report cannot be built, the notifiers
raise, or no backend took it) deletes its claim, so running the task again tries again; a
claim left by a run that died is taken over after STALE_CLAIM.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from nzila_ops.models import MonthlyReportSend
from nzila_ops.notify import Notification, notify
from nzila_ops.sla.periods import Period, previous_month
from nzila_ops.sla.render import percent, to_text
from nzila_ops.sla.report import SlaReport, build_report

logger = logging.getLogger("nzila_ops.sla")

# Longer than any report takes to build and send (a year's report takes well under a second,
# a notifier's timeout seconds): an unsent claim this old belongs to a run that died.
STALE_CLAIM = timedelta(hours=1)


@dataclass(frozen=True)
class MonthlySend:
    period: str
    sent: int  # notifier backends that took it
    skipped: bool = False  # already sent for this period

    def as_dict(self) -> dict[str, object]:
        return {"period": self.period, "sent": self.sent, "skipped": self.skipped}


def send_monthly_report(now: datetime | None = None, *, force: bool = False) -> MonthlySend:
    """Build the previous month's report and send it; ``force`` sends even if already sent."""
    now = now or timezone.now()
    period = previous_month(now)
    label = period.label
    claimed = False if force else _claim(label)
    if not force and not claimed:
        logger.info("SLA report %s already sent or being sent: not sent again", label)
        return MonthlySend(label, 0, skipped=True)
    try:
        report = build_report(period, now)
        sent = notify(report_notification(report, now))
    except BaseException:
        if claimed:
            _release(label)  # nothing went out: the next run must try again
        raise
    if sent == 0:
        if claimed:
            _release(label)
        logger.error("SLA report %s reached no notifier backend", label)
    elif claimed:
        MonthlyReportSend.objects.filter(period=label).update(sent_at=timezone.now(), backends=sent)
    return MonthlySend(label, sent)


def report_notification(report: SlaReport, now: datetime) -> Notification:
    overall = report.overall
    headline = f"uptime {percent(overall.uptime_percent)}"  # "unknown (no data)" when so
    if overall.met is not None:
        credit = f", service credit {report.credit.credit_percent:g} %" if report.credit else ""
        headline += f" (target {'met' if overall.met else 'MISSED'}{credit})"
    return Notification(
        kind="sla_report",
        subject=f"SLA report {report.period.label}: {headline}",
        summary=to_text(report).rstrip("\n"),
        at=now,
        next_step=_next_step(report.period),
    )


def _next_step(period: Period) -> str:
    return (
        f"the daily figures and a CSV are on the admin's SLA report page (?period={period.label});"
        f" `python manage.py sla_report --period {period.label} --format csv` prints the CSV"
    )


def _claim(label: str) -> bool:
    """Claim the period's send; False when another run has sent it or is sending it."""
    now = timezone.now()
    try:
        # A savepoint: a caller's transaction survives the refused insert.
        with transaction.atomic():
            MonthlyReportSend.objects.create(period=label, claimed_at=now)
        return True
    except IntegrityError:
        pass
    # Taken over only if still the same stale, unsent claim (compare-and-update): of two runs
    # finding it, one wins.
    stale = MonthlyReportSend.objects.filter(
        period=label, sent_at__isnull=True, claimed_at__lt=now - STALE_CLAIM
    ).values_list("claimed_at", flat=True)
    for claimed_at in stale:
        taken = MonthlyReportSend.objects.filter(
            period=label, sent_at__isnull=True, claimed_at=claimed_at
        ).update(claimed_at=now)
        return taken == 1
    return False


def _release(label: str) -> None:
    try:
        MonthlyReportSend.objects.filter(period=label, sent_at__isnull=True).delete()
    except DatabaseError as exc:
        # The database is what failed: the claim goes stale and is taken over after
        # STALE_CLAIM; the run's own error is the one to raise.
        logger.warning("SLA report %s: its claim could not be released: %s", label, exc)
