"""Restores and drills in the admin: history, each with its phases and verification report."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString

from nzila_ops.admin import display
from nzila_ops.admin.common import ReadOnlyHistoryAdmin
from nzila_ops.formats import duration
from nzila_ops.models import DrillRecord, RestoreRecord

RUN_FIELDS = ("backup_name", "database_alias", "result_badge", "started", "finished",
              "duration", "host", "error")  # fmt: skip
REPORT_FIELDS = ("phases", "verification_shown")


class RecoveryRunAdmin(ReadOnlyHistoryAdmin):
    """What a restore's and a drill's pages share."""

    @admin.display(description="result", ordering="result")
    def result_badge(self, run: RestoreRecord | DrillRecord) -> SafeString:
        return display.badge(run.result, title=run.error[:300])

    started = display.moment_column("started_at", "started", sortable=True)
    finished = display.moment_column("finished_at", "finished")

    @admin.display(description="phases")
    def phases(self, run: RestoreRecord | DrillRecord) -> SafeString | str:
        return display.phases_table(run.phase_seconds)

    @admin.display(description="verification")
    def verification_shown(self, run: RestoreRecord | DrillRecord) -> SafeString | str:
        return display.document(run.verification) if run.verification else "-"


@admin.register(RestoreRecord)
class RestoreRecordAdmin(RecoveryRunAdmin):
    list_display = ("backup_name", "target", "result_badge", "started_by", "started", "duration")
    readonly_fields = (*RUN_FIELDS, "target", "previous_database", "started_by",
                       "requested_from", *REPORT_FIELDS)  # fmt: skip
    fieldsets = (
        (None, {"fields": RUN_FIELDS}),
        ("Where", {"fields": ("target", "previous_database", "started_by", "requested_from")}),
        ("Report", {"fields": REPORT_FIELDS}),
    )


@admin.register(DrillRecord)
class DrillRecordAdmin(RecoveryRunAdmin):
    list_display = ("database_alias", "backup_name", "result_badge", "rto", "started")
    readonly_fields = (*RUN_FIELDS, "rto", *REPORT_FIELDS)
    fieldsets = ((None, {"fields": (*RUN_FIELDS, "rto")}), ("Report", {"fields": REPORT_FIELDS}))

    @admin.display(description="RTO (target)", ordering="rto_seconds")
    def rto(self, drill: DrillRecord) -> SafeString:
        return rto_against_target(drill)


def rto_against_target(drill: DrillRecord) -> SafeString:
    """ "4 min 10 s of 1 h 00 min", with a met/missed badge (unknown when it never finished)."""
    if drill.rto_seconds is None:
        state = "unknown"
    else:
        state = "met" if drill.rto_seconds <= drill.rto_target_seconds else "missed"
    return format_html(
        "{} {} of {}", display.badge(state), duration(drill.rto_seconds),
        duration(drill.rto_target_seconds),
    )  # fmt: skip
