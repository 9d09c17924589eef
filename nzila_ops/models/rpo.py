"""The RPO watch's memory: whether each database is currently in breach, and since when."""

from __future__ import annotations

from django.db import models


class RpoState(models.Model):
    database_alias = models.CharField(max_length=100, unique=True)
    breached = models.BooleanField(default=False)
    since = models.DateTimeField(help_text="When the current state began.")
    last_checked_at = models.DateTimeField()
    newest_backup = models.CharField(max_length=200, blank=True)
    newest_backup_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "RPO state"
        verbose_name_plural = "RPO states"

    def __str__(self) -> str:
        state = "BREACHED" if self.breached else "ok"
        return f"RPO of {self.database_alias}: {state} since {self.since:%Y-%m-%d %H:%M %Z}"
