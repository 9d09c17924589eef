"""Service credits: the tier a period's uptime falls in, from NZILA_OPS['SLA']['CREDITS'].

As the large cloud providers define theirs: each tier is "uptime below X % -> Y % of the
monthly fee", and the customer gets the highest credit whose threshold the uptime is below.
"""

from __future__ import annotations

from dataclasses import dataclass
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
