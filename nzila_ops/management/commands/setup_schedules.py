"""manage.py setup_schedules [--dry-run]"""

from __future__ import annotations

from typing import Any

from nzila_ops.management.base import OpsCommand, action_text
from nzila_ops.schedules import setup_schedules


class Command(OpsCommand):
    help = (
        "Create or update nzila_ops's Celery beat entries (django-celery-beat): backups, "
        "retention, DR drills, RPO watch. Idempotent; keeps each entry's enabled flag."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="show, change nothing")

    def run(self, **options: Any) -> None:
        for change in setup_schedules(dry_run=options["dry_run"]):
            action = action_text(change.action, options["dry_run"])
            if not change.enabled:
                action += " (disabled by an operator)"
            self.stdout.write(f"{change.name:<32} {action:<18} {change.detail}")
