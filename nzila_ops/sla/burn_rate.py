"""Error-budget burn rates and the multiwindow, multi-burn-rate rule (pure: reads no settings
and no database; nzila_ops.sla.burn_alerts feeds it and acts on its verdicts).

The rule is the one of Google's SRE workbook ("Alerting on SLOs"):

- the **burn rate** over a window is the fraction of the window's observed time the service was
  down, divided by the fraction the SLO allows (1 - target): at 1x the budget lasts exactly the
  SLO period, at 14.4x a 30-day budget is gone in 50 hours;
- a rule fires when the burn rate is at least its factor over its **long** window (enough
  budget spent to matter) AND over its **short** window (it is still burning now), so the alert
  stops soon after the burning stops instead of lasting as long as the long window.

Rules of one name form a **level** ("page", "ticket"): the level fires while any of its rules
does, and it has one incident.

The comparison with the factor is exact (fractions, not floats): a window at exactly the
threshold fires, whatever binary floating point makes of 99.9 % and 14.4.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import Any

from nzila_ops.events import Severity


@dataclass(frozen=True)
class BurnRule:
    """One line of NZILA_OPS['SLA']['BURN_RATE_RULES']."""

    name: str
    long_window: timedelta
    short_window: timedelta
    factor: float
    severity: Severity

    @classmethod
    def from_setting(cls, entry: Mapping[str, Any]) -> BurnRule:
        """From a validated settings entry (nzila_ops.sla.config checked it)."""
        return cls(
            name=str(entry["NAME"]),
            long_window=timedelta(minutes=entry["LONG_MINUTES"]),
            short_window=timedelta(minutes=entry["SHORT_MINUTES"]),
            factor=entry["FACTOR"],
            severity=Severity(entry["SEVERITY"]),
        )

    def describe(self) -> str:
        return (
            f"{self.name}: {number(self.factor)}x over {duration(self.long_window)} "
            f"and {duration(self.short_window)}"
        )


@dataclass(frozen=True)
class WindowUsage:
    """What was observed over the window ending now: seconds down (bad) out of seconds observed
    (up + down; maintenance and time without data are not observed)."""

    window: timedelta
    bad_seconds: float
    observed_seconds: float


def _exact(value: float) -> Fraction:
    # Fraction(str(...)): the decimal the operator wrote (99.9, 14.4), not its binary neighbour.
    return Fraction(str(value))


def burn_rate(bad_seconds: float, observed_seconds: float, target_percent: float) -> float | None:
    """(bad / observed) / (1 - target). None when nothing was observed: a window without data
    says nothing about the budget (and never divides by zero)."""
    if observed_seconds <= 0:
        return None
    allowed = 1 - _exact(target_percent) / 100
    return float(Fraction(bad_seconds) / Fraction(observed_seconds) / allowed)


def is_burning(
    bad_seconds: float, observed_seconds: float, factor: float, target_percent: float
) -> bool:
    """Whether the burn rate is at least ``factor``, exactly. False with nothing observed."""
    if observed_seconds <= 0:
        return False
    allowed = 1 - _exact(target_percent) / 100
    return Fraction(bad_seconds) >= _exact(factor) * allowed * Fraction(observed_seconds)


@dataclass(frozen=True)
class RuleVerdict:
    rule: BurnRule
    long: WindowUsage
    short: WindowUsage
    long_burn: float | None
    short_burn: float | None
    fires: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.describe(),
            "long_burn": self.long_burn,
            "short_burn": self.short_burn,
            "fires": self.fires,
        }


def judge(
    rule: BurnRule, long: WindowUsage, short: WindowUsage, target_percent: float
) -> RuleVerdict:
    """One rule over its two windows: it fires when both burn at least its factor."""
    fires = is_burning(
        long.bad_seconds, long.observed_seconds, rule.factor, target_percent
    ) and is_burning(short.bad_seconds, short.observed_seconds, rule.factor, target_percent)
    return RuleVerdict(
        rule=rule,
        long=long,
        short=short,
        long_burn=burn_rate(long.bad_seconds, long.observed_seconds, target_percent),
        short_burn=burn_rate(short.bad_seconds, short.observed_seconds, target_percent),
        fires=fires,
    )


def windows_of(rules: Iterable[BurnRule]) -> list[timedelta]:
    """The distinct windows the rules need measured, shortest first."""
    return sorted({w for rule in rules for w in (rule.long_window, rule.short_window)})


@dataclass(frozen=True)
class Level:
    """The rules of one name: it fires while any of them does."""

    name: str
    severity: Severity
    verdicts: tuple[RuleVerdict, ...]

    @property
    def fires(self) -> bool:
        return any(v.fires for v in self.verdicts)

    @property
    def firing(self) -> list[RuleVerdict]:
        return [v for v in self.verdicts if v.fires]


def evaluate(
    rules: Sequence[BurnRule], usage: Mapping[timedelta, WindowUsage], target_percent: float
) -> list[Level]:
    """Every rule judged over the measured windows, grouped into levels, the most severe first
    (rules of one name share one severity: the settings validation sees to it)."""
    by_name: dict[str, list[RuleVerdict]] = {}
    for rule in rules:
        verdict = judge(rule, usage[rule.long_window], usage[rule.short_window], target_percent)
        by_name.setdefault(rule.name, []).append(verdict)
    levels = [Level(name, v[0].rule.severity, tuple(v)) for name, v in by_name.items()]
    return sorted(levels, key=lambda level: level.severity.rank)


def superseded(level: Level, levels: Sequence[Level]) -> Level | None:
    """The most severe firing level more severe than ``level``, if any: while it fires, it is
    the one alert (a page makes the ticket of the same burn redundant)."""
    for other in levels:
        if other.fires and other.severity.is_more_severe_than(level.severity):
            return other
    return None


def budget_percent(bad_seconds: float, budget_seconds: float) -> float:
    """The share of an error budget (allowed downtime, in seconds) that ``bad_seconds`` spent."""
    return 100.0 * bad_seconds / budget_seconds if budget_seconds > 0 else 0.0


def number(value: float | None) -> str:
    """A burn rate or factor as an operator reads it: 166.7, 14.4, 6, 'unknown'."""
    if value is None:
        return "unknown"
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def duration(window: timedelta) -> str:
    """5 min, 1 h, 6 h, 3 d, 90 min: the largest unit that divides the window."""
    seconds = int(window.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{window.total_seconds():g} s"
