"""The report's periods: calendar months, quarters and years in NZILA_OPS['SLA']['TIME_ZONE'].

A period runs from local midnight on its first day to local midnight after its last day, so its
length is real elapsed time: a month holding a DST change is an hour shorter or longer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from nzila_ops.conf import get_config
from nzila_ops.exceptions import InvalidArgument

# Years a period may name: wide enough for any report, narrow enough that the end of the
# period (the next year's midnight) is still a datetime.
FIRST_YEAR, LAST_YEAR = 1970, 9998
_PATTERN = re.compile(r"^(\d{4})(?:-(?:(\d{2})|[Qq]([1-4])))?$")


@dataclass(frozen=True)
class Period:
    """[start, end) of a report; ``label`` is how an operator names it ("2026-10", "2026-Q4",
    "2026")."""

    label: str
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        """Real elapsed seconds: 23- and 25-hour days count as such.

        Not ``end - start``: Python subtracts two datetimes of one tzinfo as wall times."""
        return self.end.timestamp() - self.start.timestamp()


def sla_timezone() -> ZoneInfo:
    """The SLA calendar's time zone (validated by nzila_ops.sla.config)."""
    return ZoneInfo(str(get_config()["SLA"]["TIME_ZONE"]))


def _span(label: str, year: int, month: int, months: int, tz: ZoneInfo) -> Period:
    end_month = month + months
    end_year, end_month = year + (end_month - 1) // 12, (end_month - 1) % 12 + 1
    # Midnight exists on every day in every IANA zone used for business calendars except a
    # few historical ones that skipped it; ZoneInfo then picks the fold=0 offset, which is
    # still a well-defined instant.
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(end_year, end_month, 1, tzinfo=tz)
    return Period(label, start, end)


def month_period(year: int, month: int, tz: ZoneInfo | None = None) -> Period:
    tz = tz or sla_timezone()
    return _span(f"{year:04d}-{month:02d}", year, month, 1, tz)


def parse_period(text: str, tz: ZoneInfo | None = None) -> Period:
    """ "2026-10" (a month), "2026-Q4" (a quarter) or "2026" (a year).

    Anything else raises InvalidArgument with one line saying what is accepted."""
    match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
    year = int(match.group(1)) if match else 0
    if match is None or not FIRST_YEAR <= year <= LAST_YEAR:
        shown = text if isinstance(text, str) and len(text) <= 40 else f"{str(text)[:40]}..."
        raise InvalidArgument(
            f"period {shown!r} is not a month (2026-10), quarter (2026-Q4) or year (2026) "
            f"from {FIRST_YEAR} to {LAST_YEAR}"
        )
    tz = tz or sla_timezone()
    month_text, quarter_text = match.group(2), match.group(3)
    if month_text is not None:
        month = int(month_text)
        if not 1 <= month <= 12:
            raise InvalidArgument(f"period {text.strip()!r}: the month must be 01 to 12")
        return month_period(year, month, tz)
    if quarter_text is not None:
        quarter = int(quarter_text)
        return _span(f"{year:04d}-Q{quarter}", year, 3 * quarter - 2, 3, tz)
    return _span(f"{year:04d}", year, 1, 12, tz)


def previous_month(now: datetime | None = None) -> Period:
    """The last complete month before ``now`` (default: the current time), in the SLA calendar:
    what the monthly report on the 1st covers."""
    tz = sla_timezone()
    local = (now or timezone.now()).astimezone(tz)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return month_period(year, month, tz)


def current_month(now: datetime | None = None) -> Period:
    """The month holding ``now`` in the SLA calendar (its end is still in the future)."""
    tz = sla_timezone()
    local = (now or timezone.now()).astimezone(tz)
    return month_period(local.year, local.month, tz)
