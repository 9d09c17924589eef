"""Declared maintenance windows, the permission that guards the SLA reports, and the record
of each monthly report sent.

A maintenance window is neither up nor down time in the SLA report: it is left out of the
observed time of its component (all components when ``component`` is blank).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models


class MaintenanceWindow(models.Model):
    component = models.CharField(
        max_length=100,
        blank=True,
        db_index=True,
        help_text="A health check's name; blank: every component.",
    )
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=300)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="nzila_ops_maintenance_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        what = self.component or "all components"
        return f"{what}: {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The window must end after it starts."})


class SlaReport(models.Model):
    """No table: the admin's SLA report page hangs off this model, and its permission
    (``nzila_ops.view_sla_report``) is the one that shows the reports."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_sla_report", "Can view SLA reports")]
        verbose_name = "SLA report"


class MonthlyReportSend(models.Model):
    """The monthly SLA report of one period, claimed by the run sending it (a unique insert:
    beat firing twice, or two workers, send it once) and marked sent once a notifier backend
    took it. A run that fails deletes its claim, so the next run tries again; a claim left by
    a run that died is taken over once it is older than ``nzila_ops.sla.monthly.STALE_CLAIM``.
    """

    period = models.CharField(max_length=20, unique=True)  # "2026-10"
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    backends = models.PositiveIntegerField(default=0)  # notifier backends that took it

    class Meta:
        ordering = ["-period"]

    def __str__(self) -> str:
        return f"SLA report {self.period}: " + (
            f"sent {self.sent_at:%Y-%m-%d %H:%M}" if self.sent_at else "being sent"
        )
