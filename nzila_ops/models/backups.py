"""The backup catalog: an index of what storage holds, rebuilt from manifests when needed.

Storage is the truth (each object has a manifest beside it); these rows make listing, the admin
and reports fast, and keep history (durations, sizes, outcomes) after objects expire.
"""

from __future__ import annotations

from django.db import models


class BackupRecord(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        # Another backup of the same database was running: this run did nothing.
        SKIPPED = "skipped"

    class Type(models.TextChoices):
        HOURLY = "hourly"
        DAILY = "daily"
        WEEKLY = "weekly"
        MONTHLY = "monthly"
        MANUAL = "manual"

    name = models.CharField(max_length=200, unique=True)
    database_alias = models.CharField(max_length=100, db_index=True)
    engine = models.CharField(max_length=50, help_text="Database vendor: postgresql, sqlite.")
    backup_type = models.CharField(max_length=10, choices=Type.choices, default=Type.MANUAL)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    storage_name = models.CharField(max_length=100, default="default")
    storage_key = models.CharField(max_length=500, blank=True)
    stored_size = models.BigIntegerField(null=True, blank=True, help_text="Bytes in storage.")
    raw_size = models.BigIntegerField(null=True, blank=True, help_text="Bytes of the raw dump.")
    sha256 = models.CharField(max_length=64, blank=True, help_text="Of the stored bytes.")
    compression = models.CharField(max_length=20, blank=True)
    encryption_recipients = models.JSONField(
        default=list, blank=True, help_text="Fingerprints of the age recipients."
    )
    server_version = models.CharField(max_length=50, blank=True)
    tool_version = models.CharField(max_length=50, blank=True)
    manifest = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    host = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Refreshed every few seconds by the run that holds the 'running' claim; a "
        "claim whose heartbeat has stopped belongs to a dead run and is taken over.",
    )
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When retention deleted the object; the row is history."
    )
    # The last full verification (verify_backup: checksum, age, zstd, the dump's own listing),
    # whoever asked for it: the admin shows it beside the backup.
    verified_at = models.DateTimeField(null=True, blank=True)
    # Database defaults too: a host still running the previous release during a rolling
    # deploy inserts catalog rows without these columns.
    verification_result = models.CharField(
        max_length=10,
        blank=True,
        default="",
        db_default="",
        choices=[("passed", "passed"), ("failed", "failed")],
        help_text="Blank until the backup is verified.",
    )
    verification_error = models.TextField(blank=True, default="", db_default="")

    class Meta:
        ordering = ["-started_at"]
        # Restoring replaces the live database: a permission of its own, never implied by staff
        # or by the model's change permission (the admin's restore page requires it).
        permissions = [("restore_backup", "Can restore a backup from the admin")]
        indexes = [models.Index(fields=["database_alias", "status", "-started_at"])]
        constraints = [
            # The claim that makes overlapping runs harmless: beat firing twice, or two workers
            # taking the same job, cannot both insert a running row for one database.
            models.UniqueConstraint(
                fields=["database_alias"],
                condition=models.Q(status="running"),
                name="nzila_ops_one_running_backup_per_database",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def compression_ratio(self) -> float | None:
        if not self.raw_size or not self.stored_size:
            return None
        return self.raw_size / self.stored_size

    @property
    def is_restorable(self) -> bool:
        """A backup that can be restored, verified or drilled: it succeeded and retention has
        not deleted its object (the one rule the admin's actions, its restore link and the
        restore page share)."""
        return self.status == self.Status.SUCCEEDED and self.deleted_at is None

    @property
    def encrypted(self) -> bool:
        return bool(self.encryption_recipients)
