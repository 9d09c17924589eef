"""How our admin pages show a state, a moment, a size or a JSON document: one look everywhere.

Badges carry their word as text (``failed``, ``passed``), the colour only repeats it, so that
a colour-blind operator, a screen reader and a text browser read the same thing. The classes
(``ops-badge ops-badge--<state>``) are stable: the browser tests and the stylesheet use them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from nzila_ops.formats import age, duration, human_size, local_time

#: The stylesheet every nzila_ops admin page loads (Media of our ModelAdmins, the overview).
STYLESHEET = "nzila_ops/admin.css"

#: Which colour a state's badge takes; any other state is shown as "neutral".
TONES = {
    "succeeded": "good",
    "passed": "good",
    "ok": "good",
    "within": "good",
    "met": "good",
    "resolved": "good",
    "running": "busy",
    "pending": "busy",
    "copying": "busy",
    "acknowledged": "busy",
    "warning": "warn",
    "late": "warn",
    "skipped": "neutral",
    "deleted": "neutral",
    "never": "neutral",
    "unknown": "neutral",
    "failed": "bad",
    "failing": "bad",
    "breached": "bad",
    "missed": "bad",
    "triggered": "bad",
    "P0": "bad",
    "P1": "bad",
    "P2": "warn",
    "P3": "neutral",
}


#: A ModelAdmin column made by moment_column or size_column: (admin, row) -> HTML.
Column = Callable[[Any, Any], "SafeString | str"]


def badge(state: str, text: str | None = None, title: str = "") -> SafeString:
    """``<span class="ops-badge ops-badge--failed ops-tone--bad">failed</span>``."""
    state = state or "unknown"
    return format_html(
        '<span class="ops-badge ops-badge--{} ops-tone--{}"{}>{}</span>',
        _css_word(state),
        TONES.get(state, "neutral"),
        format_html(' title="{}"', title) if title else "",
        text if text is not None else state,
    )


def _css_word(state: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in state.lower())[:40]


def name(text: str) -> SafeString:
    """A backup's name that breaks only after a "-" (alias, time, type, suffix): a narrow
    column wraps it into its readable parts instead of cutting it anywhere."""
    parts = ((part,) for part in text.split("-"))
    return format_html(
        '<span class="ops-name">{}</span>', format_html_join(mark_safe("-<wbr>"), "{}", parts)
    )


def moment(when: datetime | None, now: datetime | None = None) -> SafeString | str:
    """The local time with its zone, and the age: "2026-11-29 19:44:37 UTC (3 h 12 min ago)"."""
    if when is None:
        return "-"
    return format_html(
        '<time class="ops-time" datetime="{}">{}</time> <span class="ops-age">({})</span>',
        when.isoformat(),
        local_time(when),
        age(when, now),
    )


def moment_column(field: str, description: str, *, sortable: bool = False) -> Column:
    """A list or detail column showing the row's ``field`` as a :func:`moment`;
    ``sortable`` lets the operator sort the list by it."""

    @admin.display(description=description, ordering=field if sortable else None)
    def column(model_admin: Any, row: Any) -> SafeString | str:
        return moment(getattr(row, field))

    return column


def size_column(field: str, description: str, *, sortable: bool = False) -> Column:
    """A column showing the row's ``field`` (bytes) as a :func:`size`."""

    @admin.display(description=description, ordering=field if sortable else None)
    def column(model_admin: Any, row: Any) -> SafeString | str:
        return size(getattr(row, field))

    return column


def size(value: int | None) -> SafeString | str:
    """1000-based, as the commands print it (formats.human_size); the exact bytes on hover."""
    if value is None:
        return "-"
    return format_html('<span title="{} bytes">{}</span>', f"{value:,}", human_size(value))


def phases_table(phase_seconds: Mapping[str, Any] | None) -> SafeString | str:
    """A restore's or drill's phases, in the order they ran, with their durations and total."""
    # Here, not at the top: the admin autodiscovers this module in every manage.py command.
    from nzila_ops.backups.restore_progress import PHASES

    if not phase_seconds or not isinstance(phase_seconds, Mapping):
        return "-"
    # The order restores and drills run their phases in (a drill cleans up where a restore
    # swaps). The stored dict cannot say it: PostgreSQL's jsonb keeps keys shortest first.
    known = {name: index for index, name in enumerate((*PHASES, "cleanup"))}
    names = sorted(phase_seconds, key=lambda name: known.get(str(name), len(known)))
    rows = [(str(name), _seconds(phase_seconds[name])) for name in names]
    total = sum(v for v in phase_seconds.values() if isinstance(v, int | float))
    return format_html(
        '<table class="ops-phases"><thead><tr><th scope="col">phase</th>'
        '<th scope="col">took</th></tr></thead><tbody>{}</tbody>'
        '<tfoot><tr><th scope="row">total</th><td>{}</td></tr></tfoot></table>',
        format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', rows),
        duration(total),
    )


def _seconds(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.1f} s" if value < 60 else duration(value)


#: Past this depth a document is shown as its text: a manifest read from storage could be
#: anything, and the page must not recurse for ever on it.
MAX_DEPTH = 4
#: Rows shown of a long list (a manifest's tables); the rest are counted.
MAX_ROWS = 500


def document(value: Any, depth: int = 0) -> SafeString:
    """A JSON document (a manifest, a verification report) as nested definition lists and
    tables: keys as labels, sizes readable, lists of records as a table."""
    if isinstance(value, Mapping) and value and depth < MAX_DEPTH:
        items = ((str(k), _field(str(k), v, depth)) for k, v in value.items())
        return format_html(
            '<dl class="ops-document">{}</dl>',
            format_html_join("", "<dt>{}</dt><dd>{}</dd>", items),
        )
    if isinstance(value, list) and value and depth < MAX_DEPTH:
        if all(isinstance(item, Mapping) for item in value):
            return _records(value, depth)
        return format_html_join(", ", "{}", ((_scalar(item),) for item in value))
    return format_html("{}", _scalar(value))


def _field(key: str, value: Any, depth: int) -> SafeString | str:
    if key.endswith("_size") and isinstance(value, int) and not isinstance(value, bool):
        return size(value)
    if key.endswith("_seconds") and isinstance(value, Mapping):
        return phases_table(value)
    return document(value, depth + 1)


def _records(rows: list[Mapping[str, Any]], depth: int) -> SafeString:
    columns: list[str] = []
    for row in rows[:MAX_ROWS]:
        columns += [str(k) for k in row if str(k) not in columns]
    head = format_html_join("", '<th scope="col">{}</th>', ((c,) for c in columns))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (format_html_join("", "<td>{}</td>", ((_cell(row, c, depth),) for c in columns)),)
            for row in rows[:MAX_ROWS]
        ),
    )
    more = len(rows) - MAX_ROWS
    tail = format_html('<p class="ops-more">and {} more</p>', more) if more > 0 else ""
    return format_html(
        '<div class="ops-scroll"><table class="ops-records"><thead><tr>{}</tr></thead>'
        "<tbody>{}</tbody></table></div>{}",
        head,
        body,
        tail,
    )


def _cell(row: Mapping[str, Any], column: str, depth: int) -> SafeString | str:
    for key, value in row.items():
        if str(key) == column:
            return _field(column, value, depth + 1)
    return ""


def _scalar(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping | list):
        return "-" if not value else str(value)
    return str(value)


def joined(parts: Iterable[SafeString | str]) -> SafeString:
    return format_html_join(" ", "{}", ((p,) for p in parts))
