"""Incident SLA: per severity, the share of incidents meeting their detect / respond / resolve
targets (NZILA_OPS['SLA']['INCIDENT_TARGETS'], minutes), MTTA and MTTR (docs/SLA_TARGETS.md).

All three are measured from ``detected_at``, when the fault was first seen (the first failing
sample, the failed backup's end):

- detect  = ``created_at`` - ``detected_at``: until the incident was opened (and paged);
- respond = the first of ``acknowledged_at`` and ``resolved_at``, minus ``detected_at`` (an
  incident that ended before anyone had to respond needed no acknowledgement);
- resolve = ``resolved_at`` - ``detected_at``.

An incident still open is "missed" once its target has passed, and "pending" (in no share)
before. Drills never count. The period holds the incidents detected in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from nzila_ops.conf import get_config
from nzila_ops.events import SEVERITIES
from nzila_ops.models import Incident
from nzila_ops.sla.epoch import epoch, seconds

TARGETS = ("detect", "respond", "resolve")


@dataclass(frozen=True)
class TargetFigures:
    """One target of one severity: how many incidents met it, missed it, or are not due yet."""

    target_seconds: float
    met: int = 0
    missed: int = 0
    pending: int = 0

    @property
    def met_percent(self) -> float | None:
        """Share met of those due; None when none is due."""
        due = self.met + self.missed
        return None if due == 0 else 100.0 * self.met / due

    def as_dict(self) -> dict[str, Any]:
        return {"target_seconds": self.target_seconds, "met": self.met, "missed": self.missed,
                "pending": self.pending, "met_percent": self.met_percent}  # fmt: skip


@dataclass(frozen=True)
class MissedIncident:
    id: int
    severity: str
    component: str
    title: str
    detected_at: datetime
    missed: tuple[str, ...]  # some of "detect", "respond", "resolve"
    # Seconds taken for each target (None: not done yet).
    seconds: dict[str, float | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "severity": self.severity, "component": self.component,
                "title": self.title, "detected_at": self.detected_at.isoformat(),
                "missed": list(self.missed), "seconds": dict(self.seconds)}  # fmt: skip


@dataclass(frozen=True)
class SeverityFigures:
    severity: str
    count: int
    detect: TargetFigures
    respond: TargetFigures
    resolve: TargetFigures
    mtta_seconds: float | None  # mean of acknowledged_at - detected_at, acknowledged ones
    mttr_seconds: float | None  # mean of resolved_at - detected_at, resolved ones

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "count": self.count,
                **{name: getattr(self, name).as_dict() for name in TARGETS},
                "mtta_seconds": self.mtta_seconds, "mttr_seconds": self.mttr_seconds}  # fmt: skip


@dataclass(frozen=True)
class IncidentFigures:
    by_severity: list[SeverityFigures]
    mtta_seconds: float | None  # over every severity
    mttr_seconds: float | None
    missed: list[MissedIncident]

    @property
    def count(self) -> int:
        return sum(s.count for s in self.by_severity)

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "by_severity": [s.as_dict() for s in self.by_severity],
                "mtta_seconds": self.mtta_seconds, "mttr_seconds": self.mttr_seconds,
                "missed": [m.as_dict() for m in self.missed]}  # fmt: skip


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _seconds(end: float | None, start: float) -> float | None:
    return None if end is None else end - start


def incident_figures(
    start: datetime, end: datetime, now: datetime | None = None
) -> IncidentFigures:
    """The incident SLA of the non-drill incidents detected in [start, end): one query, the
    times fetched as epoch seconds."""
    now = now or timezone.now()
    targets = get_config()["SLA"]["INCIDENT_TARGETS"]
    # Times as epoch seconds (nzila_ops.sla.epoch): a year's 2,000 incidents are 8,000
    # datetimes, which cost more to build than the query.
    times = {f"{name}_s": epoch(Incident, name) for name in
             ("detected_at", "created_at", "acknowledged_at", "resolved_at")}  # fmt: skip
    rows = (
        Incident.objects.filter(is_drill=False, detected_at__gte=start, detected_at__lt=end)
        .annotate(**times)
        .values_list("id", "severity", "component", "title", *times)
        .order_by("detected_at", "id")
    )
    now_s = now.timestamp()
    counts: dict[str, dict[str, list[int]]] = {
        s: {t: [0, 0, 0] for t in TARGETS} for s in SEVERITIES
    }
    number = dict.fromkeys(SEVERITIES, 0)
    acks: dict[str, list[float]] = {s: [] for s in SEVERITIES}
    fixes: dict[str, list[float]] = {s: [] for s in SEVERITIES}
    missed: list[MissedIncident] = []
    for pk, severity, component, title, *moments in rows:
        if severity not in number:
            continue
        detected, created, acked, resolved = (seconds(m) for m in moments)
        assert detected is not None and created is not None  # not null columns
        number[severity] += 1
        responded = min((t for t in (acked, resolved) if t is not None), default=None)
        taken = {
            "detect": _seconds(created, detected),
            "respond": _seconds(responded, detected),
            "resolve": _seconds(resolved, detected),
        }
        if acked is not None:
            acks[severity].append(acked - detected)
        if resolved is not None:
            fixes[severity].append(resolved - detected)
        late = []
        for name in TARGETS:
            limit = 60.0 * targets[severity][name.upper()]
            took = taken[name]
            if took is None and now_s - detected <= limit:
                counts[severity][name][2] += 1  # not due yet
            elif took is not None and took <= limit:
                counts[severity][name][0] += 1
            else:
                counts[severity][name][1] += 1
                late.append(name)
        if late:
            when = datetime.fromtimestamp(detected, UTC)
            missed.append(MissedIncident(pk, severity, component, title, when,
                                         tuple(late), taken))  # fmt: skip
    by_severity = [
        SeverityFigures(
            severity=s,
            count=number[s],
            **{t: TargetFigures(60.0 * targets[s][t.upper()], *counts[s][t]) for t in TARGETS},
            mtta_seconds=_mean(acks[s]),
            mttr_seconds=_mean(fixes[s]),
        )
        for s in SEVERITIES
    ]
    return IncidentFigures(
        by_severity=by_severity,
        mtta_seconds=_mean([v for s in SEVERITIES for v in acks[s]]),
        mttr_seconds=_mean([v for s in SEVERITIES for v in fixes[s]]),
        missed=missed,
    )
