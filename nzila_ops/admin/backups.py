"""The backup catalog, restores and drills in the admin."""

from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from nzila_ops.admin.common import ReadOnlyAdmin, ReadOnlyHistoryAdmin, ReadOnlyInline
from nzila_ops.backups.restore_admin import RestoreFromAdminMixin
from nzila_ops.models import BackupCopy, BackupRecord, DrillRecord, RestoreRecord


class BackupCopyInline(ReadOnlyInline):
    """The backup's copies to the copy targets (COPY_STORAGES), as the copy service records
    them: read-only, like the catalog row they belong to."""

    model = BackupCopy
    verbose_name_plural = "Copies"
    fields = ("storage_name", "status", "attempts", "copied_at", "error")
    readonly_fields = fields


@admin.register(BackupRecord)
class BackupRecordAdmin(RestoreFromAdminMixin, ReadOnlyAdmin):
    inlines = (BackupCopyInline,)
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
