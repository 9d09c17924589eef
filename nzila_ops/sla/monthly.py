"""The monthly SLA report, sent through the notifier backends on the 1st (SLA.REPORT_CRON).

It covers the previous calendar month in the SLA time zone, as text (nzila_ops.sla.render,
the same as ``manage.py sla_report --period <month>``), with the headline figures in the
subject. The notifier backends take text only (``Notification`` has no attachments), so the CSV
is not attached: the admin's SLA report page exports it.

Beat may fire twice (two beat processes, a retried task): a month's report is sent once per
REPEAT_GUARD_SECONDS, remembered in Django's cache (shared in a deployment). A cache that fails
does not stop the report: better twice than never. A send that reached no backend is not
remembered, so running the task again tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from nzila_ops.notify import Notification, notify
from nzila_ops.sla.periods import Period, previous_month
from nzila_ops.sla.render import percent, to_text
from nzila_ops.sla.report import SlaReport, build_report

logger = logging.getLogger("nzila_ops.sla")

REPEAT_GUARD_SECONDS = 7 * 86400
CACHE_PREFIX = "nzila_ops:sla:monthly_report_sent:"


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
    key = CACHE_PREFIX + period.label
    if not force and not _first_send(key):
        logger.info("SLA report %s already sent: not sent again", period.label)
        return MonthlySend(period.label, 0, skipped=True)
    report = build_report(period, now)
    sent = notify(report_notification(report, now))
    if sent == 0:
        _forget(key)  # nothing went out: the next run must try again
        logger.error("SLA report %s reached no notifier backend", period.label)
    return MonthlySend(period.label, sent)


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


def _first_send(key: str) -> bool:
    try:
        return bool(cache.add(key, 1, REPEAT_GUARD_SECONDS))
    except Exception as exc:  # the cache may be down: better twice than never
        logger.warning("cache unavailable for the SLA report's repeat guard: %s", exc)
        return True


def _forget(key: str) -> None:
    try:
        cache.delete(key)
    except Exception as exc:
        logger.warning("cache unavailable for the SLA report's repeat guard: %s", exc)
