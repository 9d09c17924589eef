"""What every nzila_ops admin page shares: lists that refuse NUL, read-only history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest

from nzila_ops.admin.display import STYLESHEET
from nzila_ops.formats import duration
from nzila_ops.models import BackupRecord, DrillRecord, RestoreRecord


class ListAdmin(admin.ModelAdmin):
    """Refuses a list query holding a NUL character with a 400: PostgreSQL cannot compare text
    with one, so a filter value such as ``?status=%00`` was a DataError and a 500."""

    class Media:
        css = {"all": (STYLESHEET,)}

    def changelist_view(self, request: Any, extra_context: Any = None) -> Any:
        if any("\x00" in key + "".join(values) for key, values in request.GET.lists()):
            return HttpResponseBadRequest("a filter or search holds a NUL character")
        # An action's selection that is not a key of this model (a hand-made POST) was a
        # ValueError from the query, a 500: it is refused with one line instead.
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            try:
                self.model._meta.pk.to_python(value)
            except ValidationError:
                return HttpResponseBadRequest("a selected row is not a row of this list")
        return super().changelist_view(request, extra_context)


class ReadOnlyAdmin(ListAdmin):
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
        return duration(record.duration_seconds)


class ReadOnlyHistoryAdmin(ReadOnlyAdmin):
    list_filter = ("result", "database_alias")
    search_fields = ("backup_name", "error")


class ReadOnlyInline(admin.TabularInline):
    """Rows a service writes, shown under their parent: nothing is added, changed or deleted
    here. Subclasses set ``model``, ``fields`` and ``readonly_fields = fields``."""

    extra = 0
    can_delete = False
    classes = ("ops-inline",)
    show_change_link = False

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
