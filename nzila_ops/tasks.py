"""Celery tasks: thin wrappers over the service functions."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from nzila_ops.backups.drills import run_drill
from nzila_ops.backups.service import run_backup


@shared_task(name="nzila_ops.backup_database")
def backup_database_task(database: str = "default", backup_type: str = "hourly") -> dict[str, Any]:
    record = run_backup(database, backup_type)
    return {"name": record.name, "stored_size": record.stored_size, "sha256": record.sha256}


@shared_task(name="nzila_ops.run_dr_drill")
def run_dr_drill_task(database: str = "default") -> dict[str, Any]:
    record = run_drill(database)
    return {"result": record.result, "rto_seconds": record.rto_seconds, "error": record.error}
