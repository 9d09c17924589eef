"""Copies of backups to second storages: one row per (backup, target storage).

Storage is the truth here too: a copy exists once its manifest is on the target. These rows say
what the copy task did (and how often it tried), for list_backups, the admin and the incident
that a copy failing past its retries opens.
"""

from __future__ import annotations

from django.db import models

from nzila_ops.models.backups import BackupRecord


class BackupCopy(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        COPYING = "copying"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        # Retention deleted the copy from the target by that storage's own policy.
        DELETED = "deleted"

    backup = models.ForeignKey(BackupRecord, on_delete=models.CASCADE, related_name="copies")
    storage_name = models.CharField(max_length=100, help_text="The target storage.")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, help_text="Of the bytes copied.")
    stored_size = models.BigIntegerField(null=True, blank=True)
    copied_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    failure_reported = models.BooleanField(
        default=False,
        help_text="This copy failed past its retries and sent the failure event; cleared by "
        "the recovery event once the target holds what it should.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["storage_name"]
        verbose_name_plural = "backup copies"
        constraints = [
            models.UniqueConstraint(
                fields=["backup", "storage_name"], name="nzila_ops_one_copy_per_backup_storage"
            )
        ]

    def __str__(self) -> str:
        return f"{self.backup_id} -> {self.storage_name}: {self.status}"
