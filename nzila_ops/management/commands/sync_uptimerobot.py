"""manage.py sync_uptimerobot [--dry-run]"""

from __future__ import annotations

from typing import Any

from nzila_ops.integrations.uptimerobot.client import sync_monitors
from nzila_ops.management.base import OpsCommand, action_text


class Command(OpsCommand):
    help = (
        "Create or update one UptimeRobot keyword monitor per health endpoint (/ops/health/ and "
        '/ops/health/<check>/), alerting when \'"status": "ok"\' is missing. Idempotent; '
        "monitors of other URLs are left alone."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="show, change nothing")

    def run(self, **options: Any) -> None:
        # Imported when run so that listing commands never loads the health check registry.
        from nzila_ops.health.registry import check_names

        for change in sync_monitors(check_names(), dry_run=options["dry_run"]):
            action = action_text(change.action, options["dry_run"])
            if change.fields:
                action += f" ({', '.join(change.fields)})"
            self.stdout.write(f"{change.name:<32} {action:<24} {change.url}")
