from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from nzila_ops.models import BackupRecord, DrillRecord, RestoreRecord


@admin.register(BackupRecord)
class BackupRecordAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "database_alias",
        "backup_type",
        "status",
        "started_at",
        "duration",
        "stored",
        "ratio",
        "encrypted",
    )
    list_filter = ("status", "database_alias", "backup_type", "engine")
    search_fields = ("name", "sha256", "error")
    date_hierarchy = "started_at"
    # The catalog mirrors storage: rows are written by the backup service, never by hand.
    readonly_fields = [field.name for field in BackupRecord._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    @admin.display(description="duration")
    def duration(self, record: BackupRecord) -> str:
        seconds = record.duration_seconds
        return "" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="stored")
    def stored(self, record: BackupRecord) -> str:
        return "" if record.stored_size is None else filesizeformat(record.stored_size)

    @admin.display(description="ratio")
    def ratio(self, record: BackupRecord) -> str:
        ratio = record.compression_ratio
        return "" if ratio is None else f"{ratio:.2f}x"

    @admin.display(boolean=True)
    def encrypted(self, record: BackupRecord) -> bool:
        return record.encrypted


class ReadOnlyHistoryAdmin(admin.ModelAdmin):
    """Restores and drills are history written by the services; nobody edits them by hand."""

    list_filter = ("result", "database_alias")
    date_hierarchy = "started_at"
    search_fields = ("backup_name", "error")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    @admin.display(description="duration")
    def duration(self, record: RestoreRecord | DrillRecord) -> str:
        return f"{record.duration_seconds:.1f} s"


@admin.register(RestoreRecord)
class RestoreRecordAdmin(ReadOnlyHistoryAdmin):
    list_display = ("backup_name", "target", "result", "started_by", "started_at", "duration")


@admin.register(DrillRecord)
class DrillRecordAdmin(ReadOnlyHistoryAdmin):
    list_display = ("database_alias", "backup_name", "result", "rto_seconds", "started_at")
