"""The SLA report in the Django admin: Operations > SLA reports (docs/status_page.md).

The page hangs off the table-less SlaReport model and is shown only to users holding
``nzila_ops.view_sla_report`` (a superuser holds every permission). It has no add, change or
delete pages: only the report of one period (``?period=2026-10|2026-Q4|2026``, default the
current month) and its CSV (``&format=csv``), the same figures as ``manage.py sla_report``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from nzila_ops.admin.display import moment
from nzila_ops.exceptions import InvalidArgument
from nzila_ops.formats import duration
from nzila_ops.models import SlaReport

# The report's modules (and its periods and bars) are imported by the page, not here: the admin
# autodiscovers this module in every manage.py command (a backup included), and they cost
# ~0.1 s of its start-up.
if TYPE_CHECKING:
    from nzila_ops.sla.periods import Period
    from nzila_ops.sla.report import ComponentRow
    from nzila_ops.sla.uptime import Availability

PERMISSION = "nzila_ops.view_sla_report"
TEMPLATE = "admin/nzila_ops/sla_report.html"
# A year of a bad service can miss thousands of targets: the page lists the first ones (the
# command's text lists them all).
MISSED_SHOWN = 200


@admin.register(SlaReport)
class SlaReportAdmin(admin.ModelAdmin):
    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm(PERMISSION))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        # The report only: there are no rows to show, change or delete (and no table).
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view(self.changelist_view)
        return [path("", view, name="{}_{}_changelist".format(*info))]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        from nzila_ops.sla.render import to_csv
        from nzila_ops.sla.report import build_report

        period = self._period(request)
        report = build_report(period)
        if request.GET.get("format") == "csv":
            response = HttpResponse(to_csv(report), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="sla-{period.label}.csv"'
            return response
        bars = self._bars(period, report)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"SLA report {period.label}",
            "period": period,
            "choices": period_choices(),
            "csv_query": f"?period={period.label}&format=csv",
            **presented(report, bars, self.admin_site.name),
            **(extra_context or {}),
        }
        return TemplateResponse(request, TEMPLATE, context)

    def _period(self, request: HttpRequest) -> Period:
        from nzila_ops.sla.periods import current_month, parse_period

        default = current_month()
        text = request.GET.get("period")
        if text is None or text == "":
            return default
        try:
            return parse_period(text)
        except InvalidArgument as exc:
            messages.warning(request, f"{exc}; showing {default.label} instead.")
            return default

    def _bars(self, period: Period, report: Any) -> dict[str, Any]:
        """Component name -> its inline SVG of daily bars over the period (and "overall")."""
        from nzila_ops.sla.bars import svg_bars
        from nzila_ops.sla.uptime import OVERALL, daily_availability

        first, last = _local_date(period.start), _local_date(period.end)
        rows: list[ComponentRow] = [*report.components, report.overall]
        names = [row.component for row in report.components]
        daily = daily_availability(names, first, (last - first).days, include_overall=True)
        return {
            name: svg_bars(
                (_bar(day) for day in daily.get(name, [])), f"{name}: daily uptime, oldest first"
            )
            for name in [*names, OVERALL]
            if any(row.component == name for row in rows)
        }


def _bar(day: Availability) -> tuple[str, str, str]:
    from nzila_ops.sla.bars import day_status, day_text

    status = day_status(day.up_seconds, day.down_seconds)
    percent = day.uptime_percent
    shown = None if percent is None else int(percent * 1000) / 1000
    return status, _local_date(day.start).isoformat(), day_text(status, shown)


def _local_date(moment: datetime) -> date:
    from nzila_ops.sla.periods import sla_timezone

    return moment.astimezone(sla_timezone()).date()


def period_choices(now: datetime | None = None) -> list[tuple[str, list[str]]]:
    """The picker's options: the last 12 months, the last 5 quarters and the last 3 years,
    newest first (any other period can be asked for in the URL)."""
    from nzila_ops.sla.periods import sla_timezone

    local = (now or timezone.now()).astimezone(sla_timezone())
    months, year, month = [], local.year, local.month
    for _ in range(12):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    quarters, year, quarter = [], local.year, (local.month - 1) // 3 + 1
    for _ in range(5):
        quarters.append(f"{year:04d}-Q{quarter}")
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    years = [f"{local.year - i:04d}" for i in range(3)]
    return [("Month", months), ("Quarter", quarters), ("Year", years)]


def percent(value: float | None, digits: int = 3) -> str:
    """Floored, never rounded up: 99.8996 % is not shown as the 99.9 % it missed."""
    from nzila_ops.sla import render

    return "unknown" if value is None else render.percent(value, digits)


def spent_percent(value: float | None) -> str:
    from nzila_ops.sla import render

    return "unknown" if value is None else render.spent_percent(value)


def presented(report: Any, bars: dict[str, Any], site: str) -> dict[str, Any]:
    """The report as the template shows it: every figure already a string."""
    from nzila_ops.sla import render

    rows = [
        {
            "name": row.component,
            "uptime": percent(row.uptime_percent),
            "down": duration(row.down_seconds),
            "maintenance": duration(row.availability.maintenance_seconds),
            "no_data": duration(row.availability.no_data_seconds),
            "allowed": duration(row.allowed_downtime_seconds),
            "budget": spent_percent(row.budget_used_percent),
            "met": render.verdict(row.met),
            "bars": bars.get(row.component, ""),
        }
        for row in [report.overall, *report.components]
    ]
    incidents = report.incidents
    severities = [
        {
            "severity": s.severity,
            "count": s.count,
            **{
                name: f"{percent(t.met_percent, 1)} ({t.met} met, {t.missed} missed"
                + (f", {t.pending} pending)" if t.pending else ")")
                for name in ("detect", "respond", "resolve")
                for t in [getattr(s, name)]
            },
            "mtta": duration(s.mtta_seconds),
            "mttr": duration(s.mttr_seconds),
        }
        for s in incidents.by_severity
    ]
    missed = [
        {
            "id": m.id,
            "url": reverse(f"{site}:nzila_ops_incident_change", args=[m.id]),
            "severity": m.severity,
            "component": m.component,
            "title": m.title,
            "detected": moment(m.detected_at),
            "missed": ", ".join(f"{name} ({duration(m.seconds.get(name))})" for name in m.missed),
        }
        for m in incidents.missed[:MISSED_SHOWN]
    ]
    protection = report.data_protection
    backups = [
        {
            "database": b.database,
            "success": percent(b.success_percent, 1),
            "counts": f"{b.succeeded} succeeded, {b.failed} failed",
            "largest_gap": duration(b.largest_gap_seconds),
            "current_age": duration(b.current_age_seconds),
            "rpo_target": duration(b.rpo_target_seconds),
            "rpo_met": render.verdict(b.rpo_met),
        }
        for b in protection.backups
    ]
    drills = protection.drills
    months = [
        {"label": m.label, "uptime": percent(m.overall.uptime_percent),
         "credit": f"{m.credit.credit_percent:g} %" if m.credit else "none"}
        for m in report.months
    ]  # fmt: skip
    return {
        "target": f"{report.target_percent:g} %",
        "allowed_period": duration(report.allowed_downtime_seconds),
        "generated": moment(report.generated_at),
        "rows": rows,
        "months": months,
        "credit": (
            "per month, below"
            if len(report.months) > 1
            else f"{report.credit.credit_percent:g} %"
            if report.credit
            else "none"
        ),
        "severities": severities,
        "mtta": duration(incidents.mtta_seconds),
        "mttr": duration(incidents.mttr_seconds),
        "incident_count": incidents.count,
        "missed": missed,
        "missed_more": max(len(incidents.missed) - MISSED_SHOWN, 0),
        "backups": backups,
        "drills": {
            "counts": f"{drills.passed} passed, {drills.failed} failed",
            "latest": duration(drills.latest_rto_seconds),
            "worst": duration(drills.worst_rto_seconds),
            "target": duration(drills.rto_target_seconds),
            "met": render.verdict(drills.rto_met),
        },
        "latency": [
            {
                "name": f.name,
                "value": f.text,
                "target": f"{f.target_seconds * 1000:g} ms",
                "met": render.verdict(f.met),
            }
            for f in report.latency
        ],
    }
