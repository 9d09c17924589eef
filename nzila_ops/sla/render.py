"""The SLA report as text (the command, the monthly e-mail) and as CSV (the admin's export)."""

from __future__ import annotations

import csv
import io
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from nzila_ops.formats import duration
from nzila_ops.sla.report import ComponentRow, SlaReport

UNKNOWN = "unknown (no data)"
# The text (a command's output, an e-mail) lists this many missed incidents; JSON lists all.
MISSED_SHOWN = 50


def shown_decimal(value: float, digits: int = 3, *, rounding: str = ROUND_FLOOR) -> Decimal:
    """``value`` cut to ``digits`` decimals, floored by default: the one rule for every
    percentage shown (the report, the e-mail, the admin page, the status page)."""
    # repr() is the shortest exact decimal of the float: 99.9 stays 99.9, not 99.8999...
    # (int(x * 1000) / 1000 floors 64.6 to 64.599: 64.6 x 1000 is 64599.99999999999).
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=rounding)


def percent(value: float | None, digits: int = 3, *, rounding: str = ROUND_FLOOR) -> str:
    """A share shown never better than it is: 99.9996 % of uptime is "99.999 %", not "100.000 %"
    (a rounded figure could show a missed target as met). Budget spent rounds up instead."""
    if value is None:
        return UNKNOWN
    return f"{shown_decimal(value, digits, rounding=rounding)} %"


def spent_percent(value: float | None, digits: int = 1) -> str:
    """Error budget used, rounded up (never shown smaller than it is)."""
    return percent(value, digits, rounding=ROUND_CEILING)


def minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.2f} min"


def _taken(seconds: float | None) -> str:
    return "not done yet" if seconds is None else duration(seconds)


def verdict(met: bool | None) -> str:
    """A target's verdict as the report, the e-mail and the admin page show it."""
    return {True: "met", False: "MISSED", None: "unknown"}[met]


def _row_line(row: ComponentRow) -> str:
    return (
        f"  {row.component:<24} {percent(row.uptime_percent):>18}  "
        f"down {minutes(row.down_seconds):>12}  "
        f"allowed {minutes(row.allowed_downtime_seconds):>12}  "
        f"budget {spent_percent(row.budget_used_percent):>18}  {verdict(row.met)}"
    )


def to_text(report: SlaReport) -> str:
    period = report.period
    lines = [
        f"SLA report {period.label} ({period.start:%Y-%m-%d %H:%M %Z} to "
        f"{period.end:%Y-%m-%d %H:%M %Z}, {period.seconds / 86400:g} days)",
        f"Target {report.target_percent:g} %: {minutes(report.allowed_downtime_seconds)} of "
        "downtime allowed in the period",
        "",
        "Uptime (maintenance windows and time without data excluded)",
        _row_line(report.overall),
        *(_row_line(row) for row in report.components),
    ]
    if len(report.months) > 1:
        lines += ["", "Months (service credits are monthly)"]
    else:
        lines += [""]
    for month in report.months:
        credit = (
            f"credit {month.credit.credit_percent:g} % "
            f"(uptime below {month.credit.below_percent:g} %)"
            if month.credit
            else (
                "no credit" if month.overall.uptime_percent is not None else "no credit (unknown)"
            )
        )
        lines.append(f"  {month.label}: overall {percent(month.overall.uptime_percent)}, {credit}")
    lines += ["", "Incidents (drills excluded)"]
    incidents = report.incidents
    lines.append(
        f"  {incidents.count} incidents; MTTA {duration(incidents.mtta_seconds)}, "
        f"MTTR {duration(incidents.mttr_seconds)}"
    )
    for sev in incidents.by_severity:
        shares = ", ".join(
            f"{name} {percent(getattr(sev, name).met_percent, 0).replace(UNKNOWN, '-')}"
            f" <= {duration(getattr(sev, name).target_seconds)}"
            for name in ("detect", "respond", "resolve")
        )
        lines.append(
            f"  {sev.severity}: {sev.count}; {shares}; MTTA {duration(sev.mtta_seconds)}, "
            f"MTTR {duration(sev.mttr_seconds)}"
        )
    if incidents.missed:
        lines.append("  Missed a target:")
        for missed in incidents.missed[:MISSED_SHOWN]:
            took = ", ".join(f"{name} {_taken(missed.seconds.get(name))}" for name in missed.missed)
            lines.append(
                f"    #{missed.id} {missed.severity} {missed.component} "
                f"{missed.detected_at:%Y-%m-%d %H:%M}: {missed.title} (missed {took})"
            )
    if len(incidents.missed) > MISSED_SHOWN:
        lines.append(
            f"    ... and {len(incidents.missed) - MISSED_SHOWN} more (--format json lists all)"
        )
    lines += ["", "Data protection"]
    for backup in report.data_protection.backups:
        lines.append(
            f"  backups of {backup.database}: {backup.succeeded} succeeded, {backup.failed} failed "
            f"({percent(backup.success_percent, 1).replace(UNKNOWN, 'none')}); largest gap "
            f"{duration(backup.largest_gap_seconds)} "
            f"against RPO {duration(backup.rpo_target_seconds)} "
            f"({verdict(backup.rpo_met)}); newest now {duration(backup.current_age_seconds)} old"
        )
    drills = report.data_protection.drills
    lines.append(
        f"  drills: {drills.passed} passed, {drills.failed} failed; RTO latest "
        f"{duration(drills.latest_rto_seconds)}, worst {duration(drills.worst_rto_seconds)} "
        f"against {duration(drills.rto_target_seconds)} ({verdict(drills.rto_met)})"
    )
    lines += ["", "Latency (p95 over the period)"]
    for figure in report.latency:
        lines.append(
            f"  {figure.name}: {figure.text} (target < {figure.target_seconds * 1000:.0f} ms)"
        )
    return "\n".join(lines) + "\n"


def to_csv(report: SlaReport) -> str:
    """One row per component (overall first): the uptime table, with the period's figures."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["period", "component", "uptime_percent", "up_seconds", "down_seconds",
                     "maintenance_seconds", "no_data_seconds", "allowed_downtime_seconds",
                     "budget_used_percent", "target_percent", "met"])  # fmt: skip
    for row in [report.overall, *report.components]:
        a = row.availability
        writer.writerow([
            report.period.label, row.component,
            "" if row.uptime_percent is None else f"{row.uptime_percent:.6f}",
            f"{a.up_seconds:.3f}", f"{a.down_seconds:.3f}", f"{a.maintenance_seconds:.3f}",
            f"{a.no_data_seconds:.3f}",
            "" if row.allowed_downtime_seconds is None else f"{row.allowed_downtime_seconds:.3f}",
            "" if row.budget_used_percent is None else f"{row.budget_used_percent:.3f}",
            f"{report.target_percent:g}", {True: "yes", False: "no", None: ""}[row.met],
        ])  # fmt: skip
    return out.getvalue()
