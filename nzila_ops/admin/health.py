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

    @admin.display(description="since", ordering="since")
    def since_shown(self, state: ComponentState) -> SafeString | str:
        return display.moment(state.since)

    @admin.display(description="last sampled", ordering="last_sampled_at")
    def sampled(self, state: ComponentState) -> SafeString | str:
        return display.moment(state.last_sampled_at)

    @admin.display(description="first failing sample")
    def first_failure(self, state: ComponentState) -> SafeString | str:
        return display.moment(state.first_failure_at)


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

    @admin.display(description="at", ordering="at")
    def at_shown(self, flip: ComponentFlip) -> SafeString | str:
        return display.moment(flip.at)


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

    @admin.display(description="since", ordering="since")
    def since_shown(self, rpo: RpoState) -> SafeString | str:
        return display.moment(rpo.since)

    @admin.display(description="newest good backup finished", ordering="newest_backup_at")
    def newest_at(self, rpo: RpoState) -> SafeString | str:
        return display.moment(rpo.newest_backup_at)

    @admin.display(description="last checked", ordering="last_checked_at")
    def checked(self, rpo: RpoState) -> SafeString | str:
        return display.moment(rpo.last_checked_at)
