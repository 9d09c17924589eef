"""The admin's restore page: a typed confirmation, the ``nzila_ops.restore_backup``
permission, the restore run as a Celery task with its progress shown live by phase, audited.

BackupRecordAdmin inherits ``RestoreFromAdminMixin``, which adds the page's URLs to it."""

from __future__ import annotations


class RestoreFromAdminMixin:
    """Adds the restore page (and its progress endpoint) to the backup catalog's admin."""
