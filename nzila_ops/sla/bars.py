"""Daily uptime bars as inline SVG (no script, no image files): the status page's and the SLA
admin page's."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# A day's bar: no downtime, some (up to 1 % of the observed day, about 14 minutes), or more.
PARTIAL_DOWN_FRACTION = 0.01
STEP, WIDTH, HEIGHT = 5, 4, 30  # SVG user units per bar; the SVG scales to its box
DAY_LABELS = {"up": "no downtime", "partial": "partial outage", "down": "outage",
              "no_data": "no data"}  # fmt: skip


def day_status(up_seconds: float, down_seconds: float) -> str:
    """ "up", "partial", "down", or "no_data" when nothing was observed that day."""
    observed = up_seconds + down_seconds
    if observed <= 0:
        return "no_data"
    if down_seconds <= 0:
        return "up"
    return "partial" if down_seconds <= PARTIAL_DOWN_FRACTION * observed else "down"


def day_text(status: str, uptime_percent: float | None) -> str:
    """A bar's tooltip after its date: "99.5 % uptime, partial outage" or "no data"."""
    if uptime_percent is None:
        return "no data"
    return f"{uptime_percent} % uptime, {DAY_LABELS.get(status, status)}"


def svg_bars(days: Iterable[tuple[str, str, str]], label: str) -> SafeString:
    """An <svg> of one bar per (status, date, tooltip text), oldest first; every value escaped.

    Built in Python rather than by a template loop: hundreds of bars are most of a page, and a
    template loop made the template the slowest part of an uncached request."""
    days = list(days)
    rects = format_html_join(
        "",
        '<rect class="{}" x="{}" y="0" width="{}" height="{}"><title>{}: {}</title></rect>',
        ((status, i * STEP, WIDTH, HEIGHT, day, text)
         for i, (status, day, text) in enumerate(days)),
    )  # fmt: skip
    return format_html(
        '<svg class="bars" viewBox="0 0 {} {}" preserveAspectRatio="none" role="img" '
        'aria-label="{}">{}</svg>',
        max(len(days), 1) * STEP, HEIGHT, label, rects,
    )  # fmt: skip
