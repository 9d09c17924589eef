"""Sampling health into recorded flips, and uptime computed from them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.utils import timezone

from nzila_ops import signals
from nzila_ops.conf import get_config
from nzila_ops.events import Severity, health_component, severity_for
from nzila_ops.exceptions import describe
from nzila_ops.health.base import CheckResult, Status
from nzila_ops.health.registry import get_checks
from nzila_ops.health.runner import run_checks
from nzila_ops.models import ComponentFlip, ComponentState

#: The recorded state of a component nobody observed: the sampler (beat, its worker) or the
#: database was down. No data in uptime; neither a fault nor a recovery.
UNKNOWN = "unknown"
UNSEEN_REASON = "not sampled: the sampler (beat, its worker) or the database was down"


def sample_gap() -> timedelta:
    """NZILA_OPS['HEALTH_SAMPLE_GAP_SECONDS']: how long after its last sample a component is
    still taken as observed."""
    # A positive number: conf.py validates it.
    return timedelta(seconds=get_config()["HEALTH_SAMPLE_GAP_SECONDS"])


def record_sample(result: CheckResult, at: datetime) -> ComponentFlip | None:
    """Fold one sample into the component's state; return the flip it recorded at ``at``, if any.

    A sample coming more than HEALTH_SAMPLE_GAP_SECONDS after the component's last one records
    the stretch between as ``unknown`` (a flip to it at the last sample + the gap, and one from
    it at ``at``): nobody saw the component then. Those flips send no signal; the signal compares
    the last observed state with the new one."""
    needed = int(get_config()["HEALTH_FAILURES_BEFORE_DOWN"])
    gap = sample_gap()
    with transaction.atomic():
        state = ComponentState.objects.select_for_update().filter(component=result.name).first()
        failing = result.status is Status.FAILING
        if state is None:
            # First sample ever. A failing one obeys the N-in-a-row rule like any other (a
            # cold worker's slow first check after a deploy must not page): the state starts
            # unknown (no data) with this failure counted, and _fold makes it failing at the
            # Nth, detected at this sample. With N = 1 it is failing, and signalled, at once.
            pending = failing and needed > 1
            status = UNKNOWN if pending else result.status.value
            state = ComponentState.objects.create(
                component=result.name, status=status, since=at,
                consecutive_failures=int(failing), last_sampled_at=at, reason=result.reason[:300],
                first_failure_at=at if failing else None,
            )  # fmt: skip
            flip = _flip(result, "", at, status)
            first_seen, observed = at, ""
            if not failing or pending:
                # Nothing changed (there was no state), or not down yet; a component first
                # seen failing with N = 1 is a fault, though, signalled like any other.
                return flip
        else:
            observed = state.status
            unseen = at - state.last_sampled_at > gap
            if unseen and observed != UNKNOWN:
                _flip(result, observed, state.last_sampled_at + gap, UNKNOWN, UNSEEN_REASON)
            flip, first_seen = _fold(state, result, failing, needed, at, unseen)
    # From unknown (a first sample not yet confirmed failing) nothing was observed before:
    # as for a first sample, only a fault is told, not an "ok" that recovers from nothing.
    if flip is not None and flip.new != observed and (observed != UNKNOWN or flip.new == "failing"):
        signals.component_flipped.send(
            sender=ComponentFlip,
            component=flip.component,
            old=observed,
            new=flip.new,
            reason=flip.reason,
            critical=flip.critical,
            severity=_severity(flip),
            at=at,
            # When the fault was first seen: the first of the failing samples that made it down.
            detected_at=first_seen,
        )
    return flip


def _fold(
    state: ComponentState,
    result: CheckResult,
    failing: bool,
    needed: int,
    at: datetime,
    unseen: bool = False,
) -> tuple[ComponentFlip | None, datetime]:
    if failing and not state.consecutive_failures:
        state.first_failure_at = at
    elif not failing:
        state.first_failure_at = None
    first_seen = state.first_failure_at if failing and state.first_failure_at else at
    state.consecutive_failures = state.consecutive_failures + 1 if failing else 0
    state.last_sampled_at = at
    new = result.status.value
    if failing and state.status != "failing" and state.consecutive_failures < needed:
        new = state.status  # not down yet: wait for N failures in a row
    flip = None
    if unseen and new != UNKNOWN:
        # Observed again after a stretch recorded unknown: the timeline resumes here, in
        # whatever state this sample leaves the component.
        flip = _flip(result, UNKNOWN, at, new)
    elif new != state.status:
        flip = _flip(result, state.status, at, new)
    if new != state.status:
        state.status, state.since, state.reason = new, at, result.reason[:300]
    state.save()
    return flip, first_seen


def _severity(flip: ComponentFlip) -> Severity | None:
    if flip.new not in ("failing", "warning"):
        return None
    return severity_for(
        health_component(flip.component), critical=flip.critical, warning=flip.new == "warning"
    )


def _flip(
    result: CheckResult, old: str, at: datetime, new: str | None = None, reason: str | None = None
) -> ComponentFlip:
    return ComponentFlip.objects.create(
        component=result.name, old=old, new=new or result.status.value, at=at,
        reason=(result.reason if reason is None else reason)[:300], critical=result.critical,
    )  # fmt: skip


def sample_health(at: datetime | None = None) -> list[ComponentFlip]:
    """Run every check once (no cache) and record what changed.

    When the database cannot record the samples (it is the thing that is down), the failing
    critical components are told to the notifiers directly, then the error is raised."""
    at = at or timezone.now()
    report = run_checks(get_checks(), use_cache=False)
    try:
        return [flip for r in report.results if (flip := record_sample(r, at)) is not None]
    except DatabaseError as exc:
        from nzila_ops.incidents.unrecorded import alert_unrecorded_failures

        alert_unrecorded_failures(report.results, at, describe(exc))
        raise


def uptime(component: str, start: datetime, end: datetime) -> float | None:
    """Fraction of [start, end) the component was not failing, from its flips.

    None when nothing was recorded for it before ``end``, or nothing observed in the window.
    Time before its first sample, stretches recorded ``unknown`` and the time after its last
    sample + HEALTH_SAMPLE_GAP_SECONDS (the sampler has stopped) are left out of the window
    rather than guessed."""
    flips = ComponentFlip.objects.filter(component=component)
    # Only the state at ``start`` and the changes inside the window matter, however long the
    # component's history.
    previous = flips.filter(at__lte=start).order_by("-at", "-id").first()
    inside = list(flips.filter(at__gt=start, at__lt=end).order_by("at", "id"))
    if previous is None and not inside:
        return None
    status = previous.new if previous else None
    window_start = start if previous else max(start, inside[0].at)
    # Observed until the last sample + the gap bound at most (no flip comes after it).
    last = ComponentState.objects.filter(component=component).values_list(
        "last_sampled_at", flat=True
    )
    stop = end
    for last_sampled_at in last:
        stop = max(window_start, min(end, last_sampled_at + sample_gap()))
    cursor, down = window_start, 0.0
    unseen = (end - stop).total_seconds()
    for flip in inside:
        if status == "failing":
            down += (flip.at - cursor).total_seconds()
        elif status == UNKNOWN:
            unseen += (flip.at - cursor).total_seconds()
        status, cursor = flip.new, flip.at
    if status == "failing":
        down += max((stop - cursor).total_seconds(), 0.0)
    elif status == UNKNOWN:
        unseen += max((stop - cursor).total_seconds(), 0.0)
    # Time nobody observed is left out, like time before the first sample.
    observed = (end - window_start).total_seconds() - unseen
    if observed <= 0:
        return None if unseen else 1.0
    return 1.0 - down / observed
