"""Incidents, their append-only timeline, and the notifier deliveries of each transition.

Status and times change only through nzila_ops.incidents.service (compare-and-update, each in one
transaction with its IncidentEvent). The times are what the SLA report needs: ``detected_at``
is when the fault was first seen (the first failing sample, the failed backup's end), not when
the row was written.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from nzila_ops.events import SEVERITIES, SOURCES


class Incident(models.Model):
    class Status(models.TextChoices):
        TRIGGERED = "triggered"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    OPEN_STATUSES = (Status.TRIGGERED, Status.ACKNOWLEDGED)

    severity = models.CharField(max_length=2, choices=[(s, s) for s in SEVERITIES])
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.TRIGGERED)
    component = models.CharField(max_length=100, db_index=True)
    title = models.CharField(max_length=300)
    # What the public status page shows; blank: a generic title from the component's public
    # name ("Payments API disruption"), never the internal title (hosts, errors).
    public_title = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=[(s, s) for s in SOURCES])
    key = models.CharField(
        max_length=255,
        db_index=True,
        help_text="Deduplication key: at most one open incident per key (PagerDuty's dedup_key).",
    )
    detected_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    # Set while a flapping component has come back up: it resolves once up this long (service).
    up_since = models.DateTimeField(null=True, blank=True, editable=False)
    is_drill = models.BooleanField(default=False, help_text="Drills never count in SLA figures.")
    # Post-mortem.
    summary = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    follow_up_actions = models.TextField(blank=True)
    postmortem_url = models.URLField(blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=~Q(status="resolved"),
                name="nzila_ops_one_open_incident_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.severity} {self.status}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.RESOLVED

    @property
    def seconds_to_acknowledge(self) -> float | None:
        if self.acknowledged_at is None:
            return None
        return (self.acknowledged_at - self.detected_at).total_seconds()

    @property
    def seconds_to_resolve(self) -> float | None:
        if self.resolved_at is None:
            return None
        return (self.resolved_at - self.detected_at).total_seconds()


class IncidentEvent(models.Model):
    """One line of an incident's timeline. Rows are only ever added."""

    class Kind(models.TextChoices):
        OPENED = "opened"
        REPEATED = "repeated"
        SEVERITY_CHANGED = "severity_changed"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"
        REOPENED = "reopened"
        PAGED = "paged"
        PAGE_FAILED = "page_failed"
        NOTE = "note"

    #: The kinds that are transitions: each is delivered to every configured notifier.
    NOTIFIED = (Kind.OPENED, Kind.ACKNOWLEDGED, Kind.RESOLVED, Kind.REOPENED,
                Kind.SEVERITY_CHANGED)  # fmt: skip

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=20, blank=True)
    detail = models.TextField(blank=True)
    severity = models.CharField(max_length=2, blank=True, help_text="For severity_changed.")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind}" + (
            f" by {self.actor}" if self.actor else ""
        )


class Delivery(models.Model):
    """One incident event sent (or to be sent) through one notifier: the outbox.

    Pending rows are claimed with compare-and-update on ``next_attempt_at`` (which doubles as a
    lease while a send is under way), so a row is sent by one worker at a time and never after
    it is ``sent``."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"
        SKIPPED = "skipped"

    event = models.ForeignKey(IncidentEvent, on_delete=models.CASCADE, related_name="deliveries")
    notifier = models.CharField(max_length=100, help_text="The notifier's name.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "notifier"], name="nzila_ops_one_delivery_per_event_notifier"
            )
        ]

    def __str__(self) -> str:
        event = self.event
        return f"{self.notifier}: {event.kind} of incident #{event.incident_id} {self.status}"
