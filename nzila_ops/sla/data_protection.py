"""Data protection figures of a period: backups (success rate, RPO achieved) and drills (RTO).

A backup counts from its ``finished_at``, when it became restorable: the time the RPO watch and
the freshness check measure age from. The largest gap is the longest stretch in the period
with no new successful backup: from the last one before the period (or the period's start when
there is none), between successive ones, and from the last one to the period's end (or now).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min, Q, Window
from django.db.models.functions import Lag
from django.utils import timezone

from nzila_ops.conf import get_config
from nzila_ops.models import BackupRecord, DrillRecord

SUCCEEDED, FAILED = BackupRecord.Status.SUCCEEDED, BackupRecord.Status.FAILED


@dataclass(frozen=True)
class BackupFigures:
    database: str
    succeeded: int
    failed: int
    largest_gap_seconds: float | None  # None: no successful backup ever, up to the period end
    current_age_seconds: float | None  # of the newest successful backup now; None: none
    rpo_target_seconds: float

    @property
    def success_percent(self) -> float | None:
        done = self.succeeded + self.failed
        return None if done == 0 else 100.0 * self.succeeded / done

    @property
    def rpo_met(self) -> bool | None:
        if self.largest_gap_seconds is None:
            return None
        return self.largest_gap_seconds <= self.rpo_target_seconds

    def as_dict(self) -> dict[str, Any]:
        return {"database": self.database, "succeeded": self.succeeded, "failed": self.failed,
                "success_percent": self.success_percent,
                "largest_gap_seconds": self.largest_gap_seconds,
                "current_age_seconds": self.current_age_seconds,
                "rpo_target_seconds": self.rpo_target_seconds,
                "rpo_met": self.rpo_met}  # fmt: skip


@dataclass(frozen=True)
class DrillFigures:
    passed: int
    failed: int
    latest_rto_seconds: float | None  # of the latest drill in the period that measured one
    worst_rto_seconds: float | None
    rto_target_seconds: float

    @property
    def rto_met(self) -> bool | None:
        """False when a drill failed (recovery not shown to work) or took too long; None
        when no drill ran."""
        if self.failed:
            return False
        if self.worst_rto_seconds is None:
            return None
        return self.worst_rto_seconds <= self.rto_target_seconds

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "failed": self.failed,
                "latest_rto_seconds": self.latest_rto_seconds,
                "worst_rto_seconds": self.worst_rto_seconds,
                "rto_target_seconds": self.rto_target_seconds, "rto_met": self.rto_met}  # fmt: skip


@dataclass(frozen=True)
class DataProtection:
    backups: list[BackupFigures]  # one per backed-up database alias
    drills: DrillFigures

    def as_dict(self) -> dict[str, Any]:
        return {"backups": [b.as_dict() for b in self.backups], "drills": self.drills.as_dict()}


def backup_figures(database: str, start: datetime, end: datetime, now: datetime) -> BackupFigures:
    """Two queries, whatever the number of backups (a year at one every 10 minutes is 52,000
    rows, which the report must not fetch): one pass of filtered aggregates, and the widest
    gap between two backups of the period from a LAG window under MAX."""
    stop = min(end, now)
    rows = BackupRecord.objects.filter(database_alias=database)
    good, inside = Q(status=SUCCEEDED), Q(finished_at__gte=start, finished_at__lt=stop)
    found = rows.aggregate(
        succeeded=Count("id", filter=good & inside),
        failed=Count("id", filter=Q(status=FAILED) & inside),
        before=Max("finished_at", filter=good & Q(finished_at__lt=start)),
        first=Min("finished_at", filter=good & inside),
        last=Max("finished_at", filter=good & inside),
        newest=Max("finished_at", filter=good & Q(finished_at__lte=now)),
    )
    before, first, last = found["before"], found["first"], found["last"]
    gap: float | None = None
    if stop <= start or (before is None and first is None):
        gap = None  # never backed up (or the period has not started)
    elif first is None:
        gap = (stop - before).total_seconds()
    else:
        previous = Window(Lag("finished_at"), order_by=[F("finished_at").asc(), F("id").asc()])
        between = (
            rows.filter(good & inside)
            .annotate(gap=ExpressionWrapper(F("finished_at") - previous, DurationField()))
            .aggregate(widest=Max("gap"))["widest"]
        )
        edges = [first - (before or start), stop - last, *([between] if between else [])]
        gap = max(edge.total_seconds() for edge in edges)
    newest = found["newest"]
    return BackupFigures(
        database=database,
        succeeded=found["succeeded"],
        failed=found["failed"],
        largest_gap_seconds=gap,
        current_age_seconds=(now - newest).total_seconds() if newest else None,
        rpo_target_seconds=float(get_config()["RPO_TARGET_SECONDS"]),
    )


def drill_figures(start: datetime, end: datetime) -> DrillFigures:
    drills = DrillRecord.objects.filter(started_at__gte=start, started_at__lt=end)
    counts = drills.aggregate(
        passed=Count("id", filter=Q(result=DrillRecord.Result.PASSED)),
        failed=Count("id", filter=Q(result=DrillRecord.Result.FAILED)),
        worst=Max("rto_seconds"),
    )
    latest = (
        drills.filter(rto_seconds__isnull=False)
        .order_by("-started_at", "-id")
        .values_list("rto_seconds", flat=True)
        .first()
    )
    return DrillFigures(
        passed=counts["passed"],
        failed=counts["failed"],
        latest_rto_seconds=latest,
        worst_rto_seconds=counts["worst"],
        rto_target_seconds=float(get_config()["RTO_TARGET_SECONDS"]),
    )


def data_protection(start: datetime, end: datetime, now: datetime | None = None) -> DataProtection:
    now = now or timezone.now()
    databases = get_config()["BACKUP_DATABASES"]
    return DataProtection(
        backups=[backup_figures(db, start, end, now) for db in databases],
        drills=drill_figures(start, end),
    )
