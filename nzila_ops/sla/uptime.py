"""Uptime per component and overall, from the recorded flips (docs/SLA_TARGETS.md).

Every second of a window is exactly one of:

- **no data**: before the component's first recorded sample, not yet happened (after now), or
  not observed: a stretch recorded ``unknown`` (the sampler, beat or the database was down; see
  nzila_ops.health.uptime.record_sample), and the time after the component's last sample +
  HEALTH_SAMPLE_GAP_SECONDS when that is before now (the sampler has stopped);
- **maintenance**: inside a declared MaintenanceWindow (of the component, or of every component);
- **down**: the component's recorded state was ``failing``;
- **up**: the recorded state was ``ok`` or ``warning``.

Uptime is up / (up + down): maintenance and no data are not observed time, and a window with
nothing observed has no uptime (None, "unknown"), never 100 %. The service ("overall") is down
while ANY counted component is down, and has data while any of them has.

Each call makes four queries, whatever the number of components and days: where the window's
history starts (each component's last flip before it), the flips (all components at once, each
paired with the next by a LEAD window function; only failing and unknown stretches and first
rows come back), each component's last sample and the maintenance windows. The rest is interval
arithmetic on the rows returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import F, Max, Q, Window
from django.db.models.functions import Lead, RowNumber
from django.utils import timezone

from nzila_ops.conf import get_config
from nzila_ops.health.uptime import UNKNOWN, sample_gap
from nzila_ops.models import ComponentFlip, ComponentState, MaintenanceWindow
from nzila_ops.sla.epoch import epoch, seconds
from nzila_ops.sla.intervals import Interval, clip, intersect, merge, subtract, total
from nzila_ops.sla.periods import sla_timezone

OVERALL = "overall"
DOWN = "failing"  # "ok" and "warning" are up


@dataclass(frozen=True)
class Availability:
    """How one component (or "overall") spent [start, end); the four parts add up to the
    window's real length."""

    component: str
    start: datetime
    end: datetime
    up_seconds: float
    down_seconds: float
    maintenance_seconds: float
    no_data_seconds: float

    @property
    def observed_seconds(self) -> float:
        return self.up_seconds + self.down_seconds

    @property
    def uptime_percent(self) -> float | None:
        """None ("unknown") when nothing was observed."""
        if self.observed_seconds <= 0:
            return None
        return 100.0 * self.up_seconds / self.observed_seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "up_seconds": self.up_seconds,
            "down_seconds": self.down_seconds,
            "maintenance_seconds": self.maintenance_seconds,
            "no_data_seconds": self.no_data_seconds,
            "uptime_percent": self.uptime_percent,
        }


@dataclass(frozen=True)
class Coverage:
    """A component's time split into sets: maintenance ⊂ data, down ⊂ data - maintenance."""

    data: list[Interval]
    maintenance: list[Interval]
    down: list[Interval]

    def over(self, component: str, start: datetime, end: datetime) -> Availability:
        lo, hi = start.timestamp(), end.timestamp()
        data = total(clip(self.data, lo, hi))
        maintenance = total(clip(self.maintenance, lo, hi))
        down = total(clip(self.down, lo, hi))
        return Availability(
            component=component, start=start, end=end,
            up_seconds=max(data - maintenance - down, 0.0), down_seconds=down,
            maintenance_seconds=maintenance, no_data_seconds=max(hi - lo - data, 0.0),
        )  # fmt: skip


def sla_components() -> list[str]:
    """The components counted in the overall figure: NZILA_OPS['SLA']['COMPONENTS'], or the
    critical health checks."""
    configured = get_config()["SLA"]["COMPONENTS"]
    if configured is not None:
        return list(configured)
    from nzila_ops.health.registry import get_checks

    return [check.name for check in get_checks() if check.critical]


def _flip_rows(components: Sequence[str], lo: datetime, hi: datetime) -> list[tuple[Any, ...]]:
    """(component, new, at, next_at, row number) of each component's first flip in the query
    and of every failing or unknown stretch that overlaps [lo, hi).

    The state at ``lo`` is that of the component's last flip at or before it: older flips are
    left out, so a month of a long history sorts a month of flips. Row 1 is then that flip (at
    or before ``lo``: data from ``lo`` on) or, with none before, the first flip ever."""
    names = list(components)
    before = ComponentFlip.objects.filter(component__in=names, at__lte=lo)
    last_before = dict(
        before.values("component").annotate(last=Max("at")).values_list("component", "last")
    )
    # One bound for all (the earliest of those last flips): a plain range condition, which
    # the planner handles better than one per component; the extra flips it lets in are
    # before ``lo`` and change nothing.
    since = min(last_before.values(), default=lo)
    order = [F("at").asc(), F("id").asc()]
    flips = (
        ComponentFlip.objects.filter(component__in=names, at__gte=since, at__lt=hi)
        .annotate(
            next_at=Window(Lead("at"), partition_by=[F("component")], order_by=order),
            number=Window(RowNumber(), partition_by=[F("component")], order_by=order),
        )
        # Django puts the window in a subquery and filters outside it, so the LEAD still sees
        # the last flip before ``lo``.
        .filter(
            Q(number=1) | Q(new__in=[DOWN, UNKNOWN]) & (Q(next_at__isnull=True) | Q(next_at__gt=lo))
        )
        .order_by()
    )
    at, next_at = epoch(ComponentFlip, "at"), epoch(ComponentFlip, "next_at")
    return list(
        flips.annotate(at_s=at, next_s=next_at).values_list(
            "component", "new", "at_s", "next_s", "number"
        )
    )


def coverages(
    components: Sequence[str], start: datetime, end: datetime, now: datetime | None = None
) -> tuple[dict[str, Coverage], list[Interval]]:
    """Each component's coverage of [start, end), and the maintenance windows of every
    component (for ``overall_coverage``): what a caller cutting one period into many (days,
    months) computes once."""
    lo = start.timestamp()
    # Time after now has not happened: it is no data, not up.
    hi = min(end, now or timezone.now()).timestamp()
    if hi <= lo:
        empty = Coverage([], [], [])
        return dict.fromkeys(components, empty), []
    stop = datetime.fromtimestamp(hi, UTC)
    first_seen: dict[str, float] = {}
    failing: dict[str, list[Interval]] = {c: [] for c in components}
    unseen: dict[str, list[Interval]] = {c: [] for c in components}
    for component, new, at_value, next_value, number in _flip_rows(components, start, stop):
        at = seconds(at_value)
        if number == 1:
            first_seen[component] = at
        if new in (DOWN, UNKNOWN):
            until = seconds(next_value)
            (failing if new == DOWN else unseen)[component].append(
                (at, hi if until is None else until)
            )
    # A component whose sampler has stopped was observed until its last sample + the gap
    # bound, not until now in its last state. (Components without a state row, whose flips
    # were recorded otherwise, are taken at their flips.)
    gap = sample_gap().total_seconds()
    last_samples = ComponentState.objects.filter(component__in=list(components))
    for component, last in last_samples.values_list("component", "last_sampled_at"):
        unseen[component].append((last.timestamp() + gap, hi))
    windows = MaintenanceWindow.objects.filter(starts_at__lt=stop, ends_at__gt=start).filter(
        Q(component="") | Q(component__in=list(components))
    )
    everyone: list[Interval] = []
    own: dict[str, list[Interval]] = {c: [] for c in components}
    for component, starts_at, ends_at in windows.values_list("component", "starts_at", "ends_at"):
        (own[component] if component else everyone).append(
            (starts_at.timestamp(), ends_at.timestamp())
        )
    everyone = merge(everyone)
    result = {}
    for component in components:
        seen = first_seen.get(component)
        data = [(max(lo, seen), hi)] if seen is not None and seen < hi else []
        data = subtract(merge(data), merge(unseen[component]))
        maintenance = intersect(merge(own[component] + everyone), data)
        down = intersect(merge(failing[component]), subtract(data, maintenance))
        result[component] = Coverage(data, maintenance, down)
    return result, everyone


def overall_coverage(each: dict[str, Coverage], everyone: list[Interval]) -> Coverage:
    """The service's coverage: data while any component has data, down while any is down."""
    data = merge(iv for c in each.values() for iv in c.data)
    maintenance = intersect(everyone, data)
    # A component's own maintenance hides only its own downtime; the windows of every
    # component are already outside each component's down set.
    down = merge(iv for c in each.values() for iv in c.down)
    return Coverage(data, maintenance, down)


def availability(
    components: Sequence[str], start: datetime, end: datetime
) -> dict[str, Availability]:
    """Availability of each named component over [start, end) (aware datetimes)."""
    each, _ = coverages(components, start, end)
    return {c: each[c].over(c, start, end) for c in components}


def overall_availability(components: Sequence[str], start: datetime, end: datetime) -> Availability:
    """The service's availability: down while ANY of ``components`` is down (the union of
    their down time, so two overlapping outages count once)."""
    each, everyone = coverages(components, start, end)
    return overall_coverage(each, everyone).over(OVERALL, start, end)


def availability_with_overall(
    components: Sequence[str], start: datetime, end: datetime
) -> tuple[dict[str, Availability], Availability]:
    """Both of the above from the same queries."""
    each, everyone = coverages(components, start, end)
    rows = {c: each[c].over(c, start, end) for c in components}
    return rows, overall_coverage(each, everyone).over(OVERALL, start, end)


def daily_availability(
    components: Sequence[str], first_day: date, days: int, include_overall: bool = False
) -> dict[str, list[Availability]]:
    """Availability per calendar day (in the SLA time zone) from ``first_day``, ``days`` days,
    for each component (and "overall" with ``include_overall``): the same four queries for
    all of it."""
    tz = sla_timezone()
    bounds = [
        datetime.combine(first_day + timedelta(days=i), datetime.min.time(), tzinfo=tz)
        for i in range(days + 1)
    ]
    each, everyone = coverages(components, bounds[0], bounds[-1])
    if include_overall:
        each = {**each, OVERALL: overall_coverage(each, everyone)}
    return {
        name: [coverage.over(name, bounds[i], bounds[i + 1]) for i in range(days)]
        for name, coverage in each.items()
    }
