"""Component health, its flips and the RPO watch's state in the admin, read-only: the health
sampler and the RPO watch write them, and the SLA figures are computed from the flips."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import admin
from django.utils import timezone
from django.utils.safestring import SafeString

from nzila_ops.admin import display
from nzila_ops.admin.common import ReadOnlyAdmin
from nzila_ops.conf import get_config
from nzila_ops.models import ComponentFlip, ComponentState, RpoState


def shown_status(state: ComponentState, now: datetime | None = None) -> str:
    """The state's status, or "unknown" when the sampler has not refreshed it within
    HEALTH_SAMPLE_GAP_SECONDS (the rule of /ops/metrics and the status page): a stopped
    sampler must not leave the page saying "ok" for ever."""
    gap = timedelta(seconds=get_config()["HEALTH_SAMPLE_GAP_SECONDS"])
    if (now or timezone.now()) - state.last_sampled_at > gap:
        return "unknown"
    return state.status or "unknown"


@admin.register(ComponentState)
class ComponentStateAdmin(ReadOnlyAdmin):
    date_hierarchy = None
    list_display = ("component", "status_badge", "since_shown", "reason", "sampled")
    list_filter = ("status",)
    search_fields = ("component", "reason")
    ordering = ("component",)
    fields = ("component", "status_badge", "since_shown", "reason", "consecutive_failures",
              "first_failure", "sampled")  # fmt: skip
    readonly_fields = fields

    @admin.display(description="status", ordering="status")
    def status_badge(self, state: ComponentState) -> SafeString:
        shown = shown_status(state)
        title = "" if shown == state.status else f"last sampled as {state.status}"
        return display.badge(shown, title=title)

    since_shown = display.moment_column("since", "since", sortable=True)
    sampled = display.moment_column("last_sampled_at", "last sampled", sortable=True)
    first_failure = display.moment_column("first_failure_at", "first failing sample")


@admin.register(ComponentFlip)
class ComponentFlipAdmin(ReadOnlyAdmin):
    date_hierarchy = "at"
    list_display = ("component", "old_badge", "new_badge", "at_shown", "reason", "critical")
    list_filter = ("component", "new", "critical")
    search_fields = ("component", "reason")
    ordering = ("-at", "-id")
    fields = ("component", "old_badge", "new_badge", "at_shown", "reason", "critical")
    readonly_fields = fields

    @admin.display(description="from", ordering="old")
    def old_badge(self, flip: ComponentFlip) -> SafeString | str:
        return display.badge(flip.old) if flip.old else "(first sample)"

    @admin.display(description="to", ordering="new")
    def new_badge(self, flip: ComponentFlip) -> SafeString:
        return display.badge(flip.new)

    at_shown = display.moment_column("at", "at", sortable=True)


@admin.register(RpoState)
class RpoStateAdmin(ReadOnlyAdmin):
    date_hierarchy = None
    list_display = ("database_alias", "state", "since_shown", "newest_backup", "newest_at",
                    "checked")  # fmt: skip
    list_filter = ("breached",)
    search_fields = ("database_alias", "newest_backup")
    ordering = ("database_alias",)
    fields = ("database_alias", "state", "since_shown", "newest_backup", "newest_at", "checked")
    readonly_fields = fields

    @admin.display(description="RPO", ordering="breached")
    def state(self, rpo: RpoState) -> SafeString:
        return display.badge("breached" if rpo.breached else "within")

    since_shown = display.moment_column("since", "since", sortable=True)
    newest_at = display.moment_column(
        "newest_backup_at", "newest good backup finished", sortable=True
    )

    checked = display.moment_column("last_checked_at", "last checked", sortable=True)
