"""The beat schedule nzila_ops needs, written into django-celery-beat idempotently.

Entries are named "nzila_ops: ..." and owned by this module: their task, arguments and crontab
are set from the settings on every run, but the ``enabled`` flag is the operator's and is never
changed once the entry exists. An entry we own that the settings no longer call for is removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import transaction

from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError

PREFIX = "nzila_ops: "


@dataclass(frozen=True)
class Entry:
    name: str
    task: str
    cron: str
    args: tuple[Any, ...] = ()
    # The zone the crontab is read in (django-celery-beat's CrontabSchedule.timezone).
    timezone: str = "UTC"

    def crontab_fields(self) -> dict[str, str]:
        minute, hour, day_of_month, month_of_year, day_of_week = self.cron.split()
        return {
            "minute": minute,
            "hour": hour,
            "day_of_month": day_of_month,
            "month_of_year": month_of_year,
            "day_of_week": day_of_week,
        }


def desired_entries() -> list[Entry]:
    config = get_config()
    entries = []
    for alias in config["BACKUP_DATABASES"]:
        entries.append(
            Entry(
                f"{PREFIX}backup {alias}",
                "nzila_ops.backup_database",
                config["BACKUP_CRON"],
                (alias, "hourly"),
            )
        )
    entries.append(
        Entry(f"{PREFIX}retention", "nzila_ops.enforce_retention", config["RETENTION_CRON"])
    )
    for alias in config["BACKUP_DATABASES"]:
        entries.append(
            Entry(
                f"{PREFIX}DR drill {alias}",
                "nzila_ops.run_dr_drill",
                config["DRILL_CRON"],
                (alias,),
            )
        )
    entries.append(Entry(f"{PREFIX}RPO watch", "nzila_ops.watch_rpo", config["RPO_WATCH_CRON"]))
    if config["COPY_STORAGES"]:
        # Copies never queued (the broker was down) or out of retries are made and reported.
        entries.append(
            Entry(f"{PREFIX}copy catch-up", "nzila_ops.copy_catch_up", config["COPY_CATCH_UP_CRON"])
        )
    entries.append(
        Entry(f"{PREFIX}health sampling", "nzila_ops.sample_health", config["HEALTH_SAMPLE_CRON"])
    )
    # Incident deliveries that failed transiently (or were never queued) and flapping
    # incidents waiting to settle.
    entries.append(
        Entry(
            f"{PREFIX}incident deliveries",
            "nzila_ops.retry_deliveries",
            config["INCIDENT_RETRY_CRON"],
        )
    )
    # Error-budget burn-rate alerts (docs/SLA_TARGETS.md). Installed without rules too: the
    # check then resolves the incidents of levels no longer configured.
    entries.append(
        Entry(
            f"{PREFIX}error budget", "nzila_ops.check_error_budget", config["SLA"]["BURN_RATE_CRON"]
        )
    )
    # The previous month's SLA report, e-mailed (through the notifiers) on the 1st. Its crontab
    # is read in the SLA's time zone: at 06:00 UTC on the 1st, a month in America/Los_Angeles
    # has not ended yet, and the report would be of the month before it.
    entries.append(
        Entry(
            f"{PREFIX}monthly SLA report",
            "nzila_ops.send_sla_report",
            config["SLA"]["REPORT_CRON"],
            timezone=config["SLA"]["TIME_ZONE"],
        )
    )
    if config["ALERT_DRILL_CRON"]:
        # Off by default: it pages a person. Arguments: the page's severity, seconds to wait.
        entries.append(
            Entry(
                f"{PREFIX}alert drill",
                "nzila_ops.run_alert_drill",
                config["ALERT_DRILL_CRON"],
                ("P2", 600),
            )
        )
    # Beat's own pulse, read by the celery_beat health check.
    entries.append(Entry(f"{PREFIX}beat heartbeat", "nzila_ops.beat_heartbeat", "* * * * *"))
    if config["NOTIFY_ON_SUCCESS"] == "digest":
        entries.append(
            Entry(f"{PREFIX}backup digest", "nzila_ops.backup_digest", config["DIGEST_CRON"])
        )
    return entries


@dataclass(frozen=True)
class Change:
    name: str
    action: str  # created, updated, unchanged, removed
    detail: str
    # False when an operator switched the entry off in the admin: it stays off, whatever the
    # action, and the output must say so (an "unchanged" entry that never runs is a surprise).
    enabled: bool = True


def setup_schedules(dry_run: bool = False) -> list[Change]:
    """Create or update the entries; with ``dry_run``, only say what would change."""
    if not apps.is_installed("django_celery_beat"):
        raise ConfigurationError("add 'django_celery_beat' to INSTALLED_APPS to install schedules")
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    changes = []
    with transaction.atomic():
        wanted = desired_entries()
        for entry in wanted:
            detail = f"{entry.task}{list(entry.args)} at '{entry.cron}'"
            if entry.timezone != "UTC":
                detail += f" ({entry.timezone})"
            existing = (
                PeriodicTask.objects.filter(name=entry.name).select_related("crontab").first()
            )
            args = json.dumps(list(entry.args))
            enabled = existing is None or existing.enabled
            if existing is not None and _matches(existing, entry, args):
                changes.append(Change(entry.name, "unchanged", detail, enabled))
                continue
            action = "updated" if existing else "created"
            changes.append(Change(entry.name, action, detail, enabled))
            if dry_run:
                continue
            crontab, _ = CrontabSchedule.objects.get_or_create(
                **entry.crontab_fields(), timezone=entry.timezone
            )
            task = existing or PeriodicTask(name=entry.name, enabled=True)
            task.task, task.args, task.kwargs, task.crontab = entry.task, args, "{}", crontab
            task.interval = None
            task.save()
        names = {entry.name for entry in wanted}
        for stale in PeriodicTask.objects.filter(name__startswith=PREFIX).exclude(name__in=names):
            changes.append(Change(stale.name, "removed", "no longer called for by the settings"))
            if not dry_run:
                stale.delete()
    return changes


def _matches(task: Any, entry: Entry, args: str) -> bool:
    crontab = task.crontab
    return (
        task.task == entry.task
        and json.loads(task.args or "[]") == json.loads(args)
        and crontab is not None
        and all(getattr(crontab, k) == v for k, v in entry.crontab_fields().items())
        and str(crontab.timezone) == entry.timezone
    )
