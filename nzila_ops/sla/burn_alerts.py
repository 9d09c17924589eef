"""Error-budget burn-rate alerts: the periodic check (task ``nzila_ops.check_error_budget``,
beat entry at NZILA_OPS['SLA']['BURN_RATE_CRON']).

Each window the rules need is measured over the overall availability of the SLA components
(nzila_ops.sla.uptime: down while any counted component is down, maintenance and time without
data not observed), the rules are judged (nzila_ops.sla.burn_rate), and each level of rules
("page", "ticket") has at most one incident, component ``error_budget``, source ``sla``, key
``error_budget:<level>``:

- a level that fires opens its incident (or, firing again within INCIDENT_FLAP_SECONDS of its
  resolution, reopens it: the flapping rule every up/down source follows, incidents.flapping);
  while it is open, further checks add nothing to its timeline;
- a level that fires while a more severe one fires is superseded: its open incident (the ticket)
  is resolved, saying which incident (the page) took over, and none is opened for it;
- a level that no longer fires resolves its incident (a reopened one is held until it has
  stayed quiet, as a flapping component's is).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from nzila_ops.conf import get_config
from nzila_ops.incidents import flapping, service
from nzila_ops.models import Incident
from nzila_ops.sla.burn_rate import (
    BurnRule,
    Level,
    RuleVerdict,
    WindowUsage,
    budget_percent,
    duration,
    evaluate,
    number,
    superseded,
    windows_of,
)
from nzila_ops.sla.periods import current_month
from nzila_ops.sla.uptime import (
    OVERALL,
    coverages,
    overall_availability,
    overall_coverage,
    sla_components,
)

logger = logging.getLogger("nzila_ops.sla")

COMPONENT = "error_budget"
SOURCE = "sla"
ACTOR = "nzila_ops"


def incident_key(level: str) -> str:
    """The dedup key of a level's incident: stable, so repeated checks find the open one."""
    return f"{COMPONENT}:{level}"


def configured_rules() -> list[BurnRule]:
    return [BurnRule.from_setting(entry) for entry in get_config()["SLA"]["BURN_RATE_RULES"]]


def measure(
    components: Sequence[str], now: datetime, windows: Sequence[timedelta]
) -> dict[timedelta, WindowUsage]:
    """Down and observed seconds of the service over each window ending at ``now``: the
    coverage of the longest window is computed once and cut into the others."""
    if not windows:
        return {}
    each, everyone = coverages(components, now - max(windows), now, now=now)
    service = overall_coverage(each, everyone)
    usage = {}
    for window in windows:
        overall = service.over(OVERALL, now - window, now)
        usage[window] = WindowUsage(window, overall.down_seconds, overall.observed_seconds)
    return usage


@dataclass(frozen=True)
class LevelOutcome:
    """What one check did about one level. ``action``: opened, reopened, repeated (a held
    incident firing again), open (already alerting: nothing added), superseded (resolved for a
    more severe level), resolved, held (resolves once quiet long enough), quiet."""

    name: str
    severity: str
    fires: bool
    action: str
    incident: int | None


@dataclass(frozen=True)
class BudgetCheck:
    at: datetime
    components: list[str]
    levels: list[LevelOutcome] = field(default_factory=list)
    verdicts: list[RuleVerdict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "components": self.components,
            "levels": {
                o.name: {"fires": o.fires, "action": o.action, "incident": o.incident}
                for o in self.levels
            },
            "rules": [v.as_dict() for v in self.verdicts],
        }


def check_error_budget(now: datetime | None = None) -> BudgetCheck:
    """Judge the burn-rate rules now and open, supersede or resolve the levels' incidents."""
    now = now or timezone.now()
    config = get_config()["SLA"]
    rules = configured_rules()
    components = sla_components()
    if not rules:
        _resolve_unconfigured(set(), now)
        return BudgetCheck(now, components)
    target = config["TARGET_PERCENT"]
    levels = evaluate(rules, measure(components, now, windows_of(rules)), target)
    outcomes: dict[str, LevelOutcome] = {}
    for level in levels:  # the most severe first: a superseding incident exists already
        key = incident_key(level.name)
        above = superseded(level, levels)
        if not level.fires:
            action, incident = _clear(level, key, now)
        elif above is None:
            action, incident = _alert(level, key, now, components, target)
        else:
            action, incident = _supersede(key, above, outcomes[above.name].incident, now)
        outcomes[level.name] = LevelOutcome(
            level.name, level.severity.value, level.fires, action, incident
        )
    _resolve_unconfigured({incident_key(level.name) for level in levels}, now)
    return BudgetCheck(
        now, components, list(outcomes.values()), [v for lv in levels for v in lv.verdicts]
    )


def _resolve_unconfigured(keys: set[str], now: datetime) -> None:
    """A level renamed or removed from the settings would leave its open incident open for
    ever: it is resolved, since no rule of it can fire any more."""
    orphans = Incident.objects.filter(component=COMPONENT, source=SOURCE).exclude(
        status=Incident.Status.RESOLVED
    )
    for incident in orphans.exclude(key__in=keys):
        service.resolve(
            incident, by=ACTOR, at=now, source=SOURCE,
            detail="no burn-rate rule of this level is configured any more (BURN_RATE_RULES)",
        )  # fmt: skip


def _alert(
    level: Level, key: str, now: datetime, components: list[str], target: float
) -> tuple[str, int | None]:
    existing = service.find_open(key)
    if existing is not None and existing.up_since is None:
        # Still burning and already alerting: a 'repeated' event every few minutes for days
        # would bury the timeline without telling anyone anything new.
        return "open", existing.pk
    title, detail = _describe(level, now, components, target)
    incident, action = flapping.fault_seen(
        key=key, component=COMPONENT, severity=level.severity, source=SOURCE, title=title,
        detected_at=now, detail=detail, actor=ACTOR,
    )  # fmt: skip
    return action, incident.pk


def _supersede(
    key: str, above: Level, above_incident: int | None, now: datetime
) -> tuple[str, int | None]:
    incident = service.find_open(key)
    if incident is None:
        return "superseded", None
    taken_over = f"incident #{above_incident}" if above_incident else "its incident"
    service.resolve(
        incident, by=ACTOR, at=now, source=SOURCE,
        detail=f"superseded by the {above.name} alert ({taken_over}, {above.severity}): the "
        "budget is burning faster; that incident covers this burn too",
    )  # fmt: skip
    return "superseded", incident.pk


def _clear(level: Level, key: str, now: datetime) -> tuple[str, int | None]:
    incident = service.find_open(key)
    if incident is None:
        return "quiet", None
    figures = "; ".join(
        f"{duration(v.rule.long_window)} {number(v.long_burn)}x and "
        f"{duration(v.rule.short_window)} {number(v.short_burn)}x (threshold "
        f"{number(v.rule.factor)}x)"
        for v in level.verdicts
    )
    flapping.fault_cleared(
        key, at=now, source=SOURCE, actor=ACTOR,
        detail=f"no {level.name} rule fires any more: {figures}",
    )  # fmt: skip
    incident.refresh_from_db()
    return ("resolved" if incident.status == Incident.Status.RESOLVED else "held"), incident.pk


def _describe(level: Level, now: datetime, components: list[str], target: float) -> tuple[str, str]:
    """The incident's title (burn rate, windows, budget spent) and detail (every rule's
    figures, the month's budget so far)."""
    month = current_month(now)
    budget = month.seconds * (100 - target) / 100
    lead = level.firing[0]
    long, short = lead.rule.long_window, lead.rule.short_window
    spent = budget_percent(lead.long.bad_seconds, budget)
    title = (
        f"Error budget burning {number(lead.long_burn)}x over {duration(long)} and "
        f"{number(lead.short_burn)}x over {duration(short)} ({level.name}): {spent:.1f} % of "
        f"the {month.label} budget spent in {duration(long)}"
    )
    lines = [
        f"{'FIRES' if v.fires else 'quiet'} {v.rule.describe()}: {number(v.long_burn)}x over "
        f"{duration(v.rule.long_window)} ({v.long.bad_seconds / 60:.1f} min down of "
        f"{v.long.observed_seconds / 60:.1f} observed), {number(v.short_burn)}x over "
        f"{duration(v.rule.short_window)}"
        for v in level.verdicts
    ]
    so_far = overall_availability(components, month.start, now)
    lines += [
        f"Burn rate 1x spends the {target} % budget of {month.label} "
        f"({budget / 60:.1f} min of downtime) exactly by the month's end.",
        f"Spent so far in {month.label}: {budget_percent(so_far.down_seconds, budget):.1f} % "
        f"({so_far.down_seconds / 60:.1f} min down).",
        f"Components counted: {', '.join(components) or 'none'}.",
    ]
    return title, "\n".join(lines)
