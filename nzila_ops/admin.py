from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from nzila_ops.models import BackupRecord, DrillRecord, RestoreRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the services (the catalog mirrors storage; restores and drills are
    history): nobody adds, edits or deletes them by hand. Deleting a catalog row would look
    like deleting the backup, which stays in storage (retention deletes backups), and the
    restores and drills are the audit trail an SLA report reads."""

    date_hierarchy = "started_at"

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        # Also removes the "Delete selected" action, which needs this permission.
        return False

    @admin.display(description="duration")
    def duration(self, record: BackupRecord | RestoreRecord | DrillRecord) -> str:
        seconds = record.duration_seconds
        return "" if seconds is None else f"{seconds:.1f} s"


class ReadOnlyHistoryAdmin(ReadOnlyAdmin):
    list_filter = ("result", "database_alias")
    search_fields = ("backup_name", "error")


@admin.register(BackupRecord)
class BackupRecordAdmin(ReadOnlyAdmin):
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
    readonly_fields = [field.name for field in BackupRecord._meta.fields]

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


@admin.register(RestoreRecord)
class RestoreRecordAdmin(ReadOnlyHistoryAdmin):
    list_display = ("backup_name", "target", "result", "started_by", "started_at", "duration")


@admin.register(DrillRecord)
class DrillRecordAdmin(ReadOnlyHistoryAdmin):
    list_display = ("database_alias", "backup_name", "result", "rto_seconds", "started_at")
