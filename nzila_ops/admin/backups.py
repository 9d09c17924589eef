"""The backup catalog in the admin: status at a glance, and the verify and drill actions.

Verifying and drilling are queued as Celery tasks (``nzila_ops.verify_backup``,
``nzila_ops.run_dr_drill``): a page must not wait for a whole backup to stream. Their outcome
shows when done: the "verified" badge of the list, the drill list. Both require
``nzila_ops.change_backuprecord`` (the records themselves are never edited, so this permission
grants nothing else); restoring has its own, ``nzila_ops.restore_backup`` (docs/admin.md).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from nzila_ops.admin import display
from nzila_ops.admin.common import ReadOnlyAdmin, ReadOnlyInline
from nzila_ops.backups.restore_admin import RestoreFromAdminMixin
from nzila_ops.formats import age
from nzila_ops.models import BackupCopy, BackupRecord

logger = logging.getLogger("nzila_ops.admin")

#: Verifying and drilling a backup (docs/admin.md).
ACT_PERMISSION = "nzila_ops.change_backuprecord"
#: How many backups one action queues at most.
AT_ONCE = 50


# The detail page, in the order an operator reads it.
MAIN_FIELDS = ("name", "database_alias", "engine", "backup_type", "status_badge", "started",
               "finished", "duration", "heartbeat", "deleted", "host", "error")  # fmt: skip
STORAGE_FIELDS = ("storage_name", "storage_key", "size_shown", "raw_size_shown", "ratio",
                  "sha256", "compression", "encrypted_shown", "recipients")  # fmt: skip
VERIFICATION_FIELDS = ("verified", "verified_when", "verification_error")
MANIFEST_ORDER = ("name", "database_alias", "backup_type", "engine", "started_at", "finished_at",
                  "duration_seconds", "host", "object", "storage", "compression", "encryption",
                  "dump", "stage_seconds", "tables", "sequences")  # fmt: skip


class BackupCopyInline(ReadOnlyInline):
    """The backup's copies to the copy targets (COPY_STORAGES), as the copy service records
    them: read-only, like the catalog row they belong to."""

    model = BackupCopy
    verbose_name_plural = "Copies"
    fields = ("storage_name", "copy_status", "attempts", "copied", "size_shown", "error")
    readonly_fields = fields

    @admin.display(description="status")
    def copy_status(self, copy: BackupCopy) -> SafeString:
        return display.badge(copy.status)

    copied = display.moment_column("copied_at", "copied")
    size_shown = display.size_column("stored_size", "size")


def verification_badge(record: BackupRecord) -> SafeString:
    """passed / failed / never, with when (and why, for a failure, on hover)."""
    result = record.verification_result or "never"
    badge = display.badge(result, title=record.verification_error)
    if record.verified_at is None:
        return badge
    return format_html('{} <span class="ops-age">{}</span>', badge, age(record.verified_at))


@admin.register(BackupRecord)
class BackupRecordAdmin(RestoreFromAdminMixin, ReadOnlyAdmin):
    inlines = (BackupCopyInline,)
    # The name starts with the database's alias (filter by it on the side): no column of its own.
    list_display = ("name_shown", "status_badge", "started", "size_shown", "storage", "verified")
    list_display_links = ("name_shown",)
    list_filter = ("status", "database_alias", "backup_type", "verification_result", "engine")
    search_fields = ("name", "sha256", "error")
    actions = ("verify_backups", "drill_backups")
    readonly_fields = (*MAIN_FIELDS, *STORAGE_FIELDS, *VERIFICATION_FIELDS,
                       "server_version", "tool_version", "manifest_shown")  # fmt: skip
    fieldsets = (
        (None, {"fields": MAIN_FIELDS}),
        ("Storage", {"fields": STORAGE_FIELDS}),
        ("Verification", {"fields": VERIFICATION_FIELDS}),
        ("Versions", {"fields": ("server_version", "tool_version")}),
        ("Manifest", {"fields": ("manifest_shown",), "classes": ("ops-manifest",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[BackupRecord]:
        return super().get_queryset(request).prefetch_related("copies")

    # -- the list's columns (short: no sideways scrolling at 1400 px) --------------------

    @admin.display(description="name", ordering="name")
    def name_shown(self, record: BackupRecord) -> SafeString:
        return display.name(record.name)

    @admin.display(description="status", ordering="status")
    def status_badge(self, record: BackupRecord) -> SafeString:
        # "encrypted" rides with the status, and only for a backup that exists.
        status = display.badge(record.status, title=record.error[:300])
        encrypted = self.encrypted_shown(record)
        return format_html("{} {}", status, encrypted) if encrypted else status

    started = display.moment_column("started_at", "started", sortable=True)
    finished = display.moment_column("finished_at", "finished", sortable=True)
    heartbeat = display.moment_column("heartbeat_at", "heartbeat")
    deleted = display.moment_column("deleted_at", "deleted by retention")
    size_shown = display.size_column("stored_size", "size", sortable=True)
    raw_size_shown = display.size_column("raw_size", "raw dump")

    @admin.display(description="ratio")
    def ratio(self, record: BackupRecord) -> str:
        ratio = record.compression_ratio
        return "-" if ratio is None else f"{ratio:.2f}x"

    @admin.display(description="storage", ordering="storage_name")
    def storage(self, record: BackupRecord) -> SafeString:
        copies = format_html_join(
            " ",
            "{}",
            (
                (display.badge(c.status, c.storage_name, f"copy: {c.status}"),)
                for c in record.copies.all()
            ),
        )
        return format_html('<span class="ops-storage">{}</span> {}', record.storage_name, copies)

    @admin.display(description="verified", ordering="verified_at")
    def verified(self, record: BackupRecord) -> SafeString:
        return verification_badge(record)

    verified_when = display.moment_column("verified_at", "verified at")

    @admin.display(description="encrypted")
    def encrypted_shown(self, record: BackupRecord) -> SafeString | str:
        # Only a backup that exists can be said to be encrypted: a failed run stored nothing.
        if record.status != BackupRecord.Status.SUCCEEDED:
            return ""
        return display.badge("encrypted" if record.encrypted else "plain")

    @admin.display(description="age recipients")
    def recipients(self, record: BackupRecord) -> str:
        return ", ".join(str(r) for r in record.encryption_recipients or []) or "-"

    @admin.display(description="manifest")
    def manifest_shown(self, record: BackupRecord) -> SafeString | str:
        manifest = record.manifest
        if not manifest:
            return "-"
        if isinstance(manifest, dict):
            # What an operator reads first, first (the database stores the keys in its own order).
            first = [key for key in MANIFEST_ORDER if key in manifest]
            manifest = {key: manifest[key] for key in [*first, *sorted(set(manifest) - set(first))]}
        return display.document(manifest)

    # -- actions ------------------------------------------------------------------------

    def has_verify_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.has_perm(ACT_PERMISSION))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        extra = {"ops_can_act": self.has_verify_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    @admin.action(description="Verify the selected backups (queued)", permissions=["verify"])
    def verify_backups(self, request: HttpRequest, queryset: QuerySet[BackupRecord]) -> Any:
        from nzila_ops.tasks import verify_backup_task

        return self._queue(
            request,
            queryset,
            "verification",
            lambda r: verify_backup_task.delay(r.name, r.storage_name),
            "the result shows in the Verified column when done",
        )

    @admin.action(
        description="Run a drill of the selected backups (queued)", permissions=["verify"]
    )
    def drill_backups(self, request: HttpRequest, queryset: QuerySet[BackupRecord]) -> Any:
        from nzila_ops.tasks import run_dr_drill_task

        drills = reverse(f"{self.admin_site.name}:nzila_ops_drillrecord_changelist")
        return self._queue(
            request,
            queryset,
            "drill",
            lambda r: run_dr_drill_task.delay(
                r.database_alias, backup=r.name, storage=r.storage_name
            ),
            format_html('its outcome shows in <a href="{}">the drills</a> when done', drills),
        )

    def _queue(
        self, request: HttpRequest, queryset: QuerySet[BackupRecord], what: str,
        send: Any, where: str,
    ) -> HttpResponseRedirect | None:  # fmt: skip
        queued, refused = [], []
        selected = queryset.count()
        if selected > AT_ONCE:
            # Each is a full download: hundreds at once would hold every worker for hours.
            self.message_user(
                request,
                f"{selected} backups selected: only the newest {AT_ONCE} were taken; select the "
                "others again once these are done.",
                messages.WARNING,
            )
        taken = list(queryset.order_by("-started_at")[:AT_ONCE])
        for index, record in enumerate(taken):
            if not record.is_restorable:
                refused.append(record.name)
                continue
            try:
                send(record)
            except Exception as exc:  # the broker is down: say so, do not pretend it queued
                logger.exception("admin: could not queue the %s of %s", what, record.name)
                # Stop here: each further send would wait out the broker's connection retries
                # too, and 50 of them outlast gunicorn's timeout (a 502, no message at all).
                rest = [r.name for r in taken[index + 1 :]]
                self.message_user(
                    request,
                    f"The {what} of {record.name} could not be queued: {type(exc).__name__}: "
                    f"{str(exc)[:200]}"
                    + (f". Not tried, so not queued either: {', '.join(rest)}." if rest else ""),
                    messages.ERROR,
                )
                break
            queued.append(record.name)
        if queued:
            self.message_user(
                request,
                format_html("{} of {} queued; {}.", what.capitalize(), ", ".join(queued), where),
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                f"Not queued (only a succeeded backup still in storage can be): "
                f"{', '.join(refused)}.",
                messages.WARNING,
            )
        # The detail page's buttons come back to the backup they were pressed on.
        back = request.POST.get("ops_next") == "change"
        pks = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        if back and len(pks) == 1 and queryset.filter(pk=pks[0]).exists():
            info = self.admin_site.name, self.opts.app_label, self.opts.model_name
            return HttpResponseRedirect(reverse("{}:{}_{}_change".format(*info), args=[pks[0]]))
        return None
