"""Recorded uptime: the state of each component and an append-only log of its flips.

Only changes are stored (a flip: component, old, new, at, reason), not every sample; uptime
over any window is computed from the flips. A component goes down only after N consecutive
failing samples (HEALTH_FAILURES_BEFORE_DOWN), so one lost packet is not an outage.
"""

from __future__ import annotations

from django.db import models


class ComponentState(models.Model):
    component = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=10)  # ok, warning, failing
    since = models.DateTimeField()
    consecutive_failures = models.PositiveIntegerField(default=0)
    # The first failing sample of the current run of failures: when an outage was first seen
    # (an incident's detected_at), before HEALTH_FAILURES_BEFORE_DOWN samples confirmed it.
    first_failure_at = models.DateTimeField(null=True, blank=True)
    last_sampled_at = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.component}: {self.status} since {self.since:%Y-%m-%d %H:%M}"


class ComponentFlip(models.Model):
    component = models.CharField(max_length=100, db_index=True)
    old = models.CharField(max_length=10, blank=True)  # "" for the first sample ever
    new = models.CharField(max_length=10)
    at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=300, blank=True)
    critical = models.BooleanField(default=True)

    class Meta:
        ordering = ["at", "id"]
        # Uptime (the SLA report, the status page, burn-rate windows) reads each component's
        # flips in a time range, in order: one index serves the range, the per-component last
        # flip before it and the window function's partition order.
        indexes = [models.Index(fields=["component", "at"], name="nzila_ops_flip_component_at")]

    def __str__(self) -> str:
        return f"{self.component}: {self.old or '-'} -> {self.new} at {self.at:%Y-%m-%d %H:%M:%S}"
