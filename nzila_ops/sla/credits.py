"""Service credits: the tier a period's uptime falls in, from NZILA_OPS['SLA']['CREDITS'].

As the large cloud providers define theirs: each tier is "uptime below X % -> Y % of the
monthly fee", and the customer gets the highest credit whose threshold the uptime is below.

The report decides both "met" and the tier in exact arithmetic over the seconds
(``target_met`` and ``credit_earned``), so that they cannot disagree at a boundary: a
28-day month down exactly the 2,419.2 s that 99.9 % allows is met, and earns no credit (its
float uptime, 99.8999999...%, is below 99.9).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from nzila_ops.conf import get_config


@dataclass(frozen=True)
class CreditTier:
    below_percent: float  # applies when the uptime is below this
    credit_percent: float  # of the monthly fee

    def as_dict(self) -> dict[str, Any]:
        return {"below_percent": self.below_percent, "credit_percent": self.credit_percent}


def credit_tiers() -> list[CreditTier]:
    """The configured tiers, highest threshold first."""
    tiers = [
        CreditTier(float(below), float(credit)) for below, credit in get_config()["SLA"]["CREDITS"]
    ]
    return sorted(tiers, key=lambda t: -t.below_percent)


def credit_for(uptime_percent: float | None) -> CreditTier | None:
    """The tier earned by ``uptime_percent``; None when the target was met, or the uptime is
    unknown (no data is no evidence of an outage: it never earns a credit by itself)."""
    if uptime_percent is None:
        return None
    earned = [t for t in credit_tiers() if uptime_percent < t.below_percent]
    return max(earned, key=lambda t: t.credit_percent) if earned else None


def exact_seconds(value: float) -> Fraction:
    """``value`` seconds as an exact fraction, to the microsecond (the resolution of every
    recorded time): the float residue of epoch arithmetic is not an outage."""
    return Fraction(round(value * 1_000_000), 1_000_000)


def target_met(down_seconds: float, observed_seconds: float, target_percent: float) -> bool:
    """down <= (100 - target) / 100 x observed, exactly."""
    allowed = (100 - Fraction(str(target_percent))) / 100 * exact_seconds(observed_seconds)
    return exact_seconds(down_seconds) <= allowed


def credit_earned(up_seconds: float, observed_seconds: float) -> CreditTier | None:
    """The tier earned by ``up_seconds`` of ``observed_seconds``: a tier applies when
    up x 100 < threshold x observed, exactly. None when nothing was observed."""
    if observed_seconds <= 0:
        return None
    up, observed = exact_seconds(up_seconds) * 100, exact_seconds(observed_seconds)
    earned = [t for t in credit_tiers() if up < Fraction(str(t.below_percent)) * observed]
    return max(earned, key=lambda t: t.credit_percent) if earned else None
