"""How figures read to an operator, one rule everywhere (the admin, the SLA report, e-mails)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def duration(seconds: float | None) -> str:
    """ "4 min 10 s", "2 h 05 min", "3 d 4 h"; "-" when None."""
    if seconds is None:
        return "-"
    whole = max(0, round(seconds))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


def human_size(size: float | None) -> str:
    """ "512 B", "3.4 MB": 1000-based, as the commands, the admin and e-mails print sizes
    (one rule everywhere: an operator comparing the admin with list_backups sees one figure);
    "-" when None."""
    if size is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """ "3 h 12 min ago" (or "in 5 min" for a moment ahead); "-" when None."""
    if moment is None:
        return "-"
    seconds = ((now or timezone.now()) - moment).total_seconds()
    if -1 < seconds < 1:
        return "just now"
    return f"{duration(seconds)} ago" if seconds > 0 else f"in {duration(-seconds)}"


def local_time(moment: datetime | None) -> str:
    """ "2026-11-29 19:44:37 UTC": the site's time zone (TIME_ZONE), with the zone named, so
    that two operators in different places read the same instant; "-" when None."""
    if moment is None:
        return "-"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")
