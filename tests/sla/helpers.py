"""Building recorded histories for the SLA tests: flips and maintenance windows."""

from __future__ import annotations

from datetime import UTC, datetime

from nzila_ops.models import ComponentFlip, MaintenanceWindow


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]  (year, month, day, ...)


def history(component: str, *changes: tuple[datetime, str]) -> None:
    """Record the flips of ``component``: (at, new status) pairs, in order."""
    old = ""
    for at, new in changes:
        ComponentFlip.objects.create(component=component, old=old, new=new, at=at)
        old = new


def maintenance(start: datetime, end: datetime, component: str = "") -> MaintenanceWindow:
    return MaintenanceWindow.objects.create(
        component=component, starts_at=start, ends_at=end, reason="planned upgrade"
    )
