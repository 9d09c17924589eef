"""When a crontab fires, minute by minute, as Celery beat reads it."""

from __future__ import annotations

from datetime import datetime

from celery.schedules import crontab


def fires(schedule: crontab, at: datetime) -> bool:
    """Whether ``schedule`` fires in the minute of ``at`` (taken in its own time zone: UTC)."""
    return (
        at.minute in schedule.minute
        and at.hour in schedule.hour
        and at.day in schedule.day_of_month
        and at.month in schedule.month_of_year
        and at.isoweekday() % 7 in schedule.day_of_week  # crontab's Sunday is 0
    )
