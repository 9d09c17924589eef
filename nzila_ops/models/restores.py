"""Restores and disaster-recovery drills, kept as history for RTO reporting."""

from __future__ import annotations

from django.db import models


class RecoveryRun(models.Model):
    """What a restore and a drill both record: which backup, each phase's time, the
    verification report and the outcome."""

    backup_name = models.CharField(max_length=200, blank=True)
    database_alias = models.CharField(max_length=100, db_index=True)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    phase_seconds = models.JSONField(default=dict)
    verification = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    host = models.CharField(max_length=255, blank=True)
    history_key = models.CharField(
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="Where this record is kept in backup storage (history.py); rows lost with a "
        "restored database are rebuilt from there.",
    )

    class Meta:
        abstract = True
        ordering = ["-started_at"]

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


class RestoreRecord(RecoveryRun):
    """One restore, successful or not, swapped in or into a ``--target``. Kept in backup
    storage as well as here: a restore replaces the database that holds these rows, and the
    rows recorded since the backup was taken are rebuilt from storage (history.py)."""

    class Result(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    target = models.CharField(max_length=255, help_text="Database (or file) restored into.")
    previous_database = models.CharField(
        max_length=255, blank=True, help_text="Where the replaced database was kept."
    )
    started_by = models.CharField(max_length=200, help_text="User, command or task.")
    requested_from = models.GenericIPAddressField(
        null=True, blank=True, help_text="The address an admin restore was asked for from."
    )
    result = models.CharField(max_length=10, choices=Result.choices)

    class Meta(RecoveryRun.Meta):
        pass

    def __str__(self) -> str:
        return f"restore of {self.backup_name} into {self.target}"


class DrillRecord(RecoveryRun):
    """One disaster-recovery drill: the latest backup restored into scratch and verified."""

    class Result(models.TextChoices):
        PASSED = "passed"
        FAILED = "failed"

    rto_seconds = models.FloatField(null=True, blank=True, help_text="Start to verified.")
    rto_target_seconds = models.FloatField()
    result = models.CharField(max_length=10, choices=Result.choices)

    class Meta(RecoveryRun.Meta):
        pass

    def __str__(self) -> str:
        return f"drill of {self.database_alias} at {self.started_at:%Y-%m-%d %H:%M %Z}"
