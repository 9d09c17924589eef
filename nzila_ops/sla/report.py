"""The SLA report of a period: one service function, ``build_report`` (docs/SLA_TARGETS.md).

Every figure is computed from what was recorded (flips, maintenance windows, incidents, backups,
drills, Prometheus); what cannot be known is shown as unknown or "not measured", never guessed.
The report is frozen dataclasses; ``SlaReport.as_dict()`` is its JSON form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from django.utils import timezone

from nzila_ops.conf import get_config
from nzila_ops.sla.credits import CreditTier, credit_earned, target_met
from nzila_ops.sla.data_protection import DataProtection, data_protection
from nzila_ops.sla.incident_sla import IncidentFigures, incident_figures
from nzila_ops.sla.latency import LatencyFigure, latency_figures
from nzila_ops.sla.periods import Period, month_period
from nzila_ops.sla.uptime import OVERALL, Availability, coverages, overall_coverage, sla_components


def allowed_downtime(target_percent: float, seconds: float) -> float:
    """Downtime the target allows in ``seconds`` of observed time: (1 - target) x seconds.
    99.9 % of a 31-day month is 2,678.4 s (44.64 min); of an average month 43.83 min."""
    # Exact decimal arithmetic: in floats (100 - 99.9) / 100 is 0.000999999999999943, which
    # would print 2,678.3999999998 s.
    exact = (100 - Fraction(str(target_percent))) / 100 * Fraction(str(seconds))
    return float(exact)


@dataclass(frozen=True)
class ComponentRow:
    """One row of the uptime table (a component, or "overall")."""

    availability: Availability
    # What the target allows over this row's observed time (up + down): the budget. The
    # target is met exactly when downtime <= allowed, i.e. budget used <= 100 %.
    allowed_downtime_seconds: float | None
    budget_used_percent: float | None
    # Whether the target was met; None when unknown (nothing observed). Decided exactly
    # (credits.target_met), not from the rounded budget above.
    met: bool | None

    @property
    def component(self) -> str:
        return self.availability.component

    @property
    def uptime_percent(self) -> float | None:
        return self.availability.uptime_percent

    @property
    def down_seconds(self) -> float:
        return self.availability.down_seconds

    def as_dict(self) -> dict[str, Any]:
        return {**self.availability.as_dict(),
                "allowed_downtime_seconds": self.allowed_downtime_seconds,
                "budget_used_percent": self.budget_used_percent, "met": self.met}  # fmt: skip


@dataclass(frozen=True)
class MonthRow:
    """The overall uptime of one calendar month of the period, and the credit it earns
    (credits are monthly: a quarter's or year's report lists each month)."""

    label: str
    overall: ComponentRow
    credit: CreditTier | None

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "overall": self.overall.as_dict(),
                "credit": self.credit.as_dict() if self.credit else None}  # fmt: skip


@dataclass(frozen=True)
class SlaReport:
    period: Period
    generated_at: datetime
    target_percent: float
    # What the target allows over the whole period's length (the contract's figure).
    allowed_downtime_seconds: float
    components: list[ComponentRow]
    overall: ComponentRow
    months: list[MonthRow]
    # The month's credit tier (None: target met, or unknown); for a quarter or a year, None:
    # see ``months``.
    credit: CreditTier | None
    incidents: IncidentFigures
    data_protection: DataProtection
    latency: list[LatencyFigure]

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": {"label": self.period.label, "start": self.period.start.isoformat(),
                       "end": self.period.end.isoformat(), "seconds": self.period.seconds},
            "generated_at": self.generated_at.isoformat(),
            "target_percent": self.target_percent,
            "allowed_downtime_seconds": self.allowed_downtime_seconds,
            "components": [row.as_dict() for row in self.components],
            "overall": self.overall.as_dict(),
            "months": [month.as_dict() for month in self.months],
            "credit": self.credit.as_dict() if self.credit else None,
            "incidents": self.incidents.as_dict(),
            "data_protection": self.data_protection.as_dict(),
            "latency": [figure.as_dict() for figure in self.latency],
        }  # fmt: skip


def component_row(availability: Availability, target_percent: float) -> ComponentRow:
    observed = availability.observed_seconds
    if observed <= 0:
        return ComponentRow(availability, None, None, None)
    allowed = allowed_downtime(target_percent, observed)
    met = target_met(availability.down_seconds, observed, target_percent)
    return ComponentRow(availability, allowed, 100.0 * availability.down_seconds / allowed, met)


def _months(period: Period) -> list[Period]:
    local = period.start
    months, year, month = [], local.year, local.month
    while True:
        current = month_period(year, month, period.start.tzinfo)  # type: ignore[arg-type]
        if current.start >= period.end:
            return months
        months.append(current)
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)


def build_report(period: Period, now: datetime | None = None) -> SlaReport:
    """The SLA report of ``period`` (nzila_ops.sla.periods.parse_period)."""
    now = now or timezone.now()
    target = float(get_config()["SLA"]["TARGET_PERCENT"])
    components = sla_components()
    # The flips are read once for the whole period: the months are cut from the same coverage.
    each, everyone = coverages(components, period.start, period.end, now)
    service = overall_coverage(each, everyone)
    rows = [component_row(each[c].over(c, period.start, period.end), target) for c in components]
    overall = component_row(service.over(OVERALL, period.start, period.end), target)
    months = []
    for month in _months(period):
        row = component_row(service.over(OVERALL, month.start, month.end), target)
        credit = credit_earned(row.availability.up_seconds, row.availability.observed_seconds)
        months.append(MonthRow(month.label, row, credit))
    return SlaReport(
        period=period,
        generated_at=now,
        target_percent=target,
        allowed_downtime_seconds=allowed_downtime(target, period.seconds),
        components=rows,
        overall=overall,
        months=months,
        credit=months[0].credit if len(months) == 1 else None,
        incidents=incident_figures(period.start, period.end, now),
        data_protection=data_protection(period.start, period.end, now),
        latency=latency_figures(period.start, period.end, now),
    )
