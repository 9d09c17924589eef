"""A host with an AdminSite of its own beside Django's: the restore page's links and redirects
must stay on the site they were opened from."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from nzila_ops.admin.backups import BackupRecordAdmin
from nzila_ops.models import BackupRecord

ops_site = admin.AdminSite(name="ops_site")
ops_site.register(BackupRecord, BackupRecordAdmin)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("ops-admin/", ops_site.urls),
]
