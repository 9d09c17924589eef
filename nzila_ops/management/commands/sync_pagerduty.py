"""manage.py sync_pagerduty [--dry-run]"""

from __future__ import annotations

from typing import Any

from nzila_ops.integrations.pagerduty.provisioning import sync_pagerduty
from nzila_ops.management.base import OpsCommand, action_text


class Command(OpsCommand):
    help = (
        "Create or update, through the PagerDuty REST API v2, the on-call schedules, escalation "
        "policies and services (each with an Events API v2 integration) of "
        "NZILA_OPS['PAGERDUTY']. Idempotent; found by name; nothing is deleted. A new "
        "integration's routing key is printed once."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="show, change nothing")

    def run(self, **options: Any) -> None:
        dry_run = options["dry_run"]
        changes = sync_pagerduty(dry_run=dry_run)
        for change in changes:
            action = action_text(change.action, dry_run)
            if change.fields:
                action += f" ({', '.join(change.fields)})"
            where = change.object_id or ""
            self.stdout.write(f"{change.kind:<18} {change.name:<44} {action:<28} {where}".rstrip())
        keys = [change for change in changes if change.routing_key]
        if keys:
            self.stdout.write(
                "\nRouting keys of the new integrations, shown this once: store them in "
                "NZILA_OPS['PAGERDUTY']['ROUTING_KEYS'] (your secret store):"
            )
            for change in keys:
                self.stdout.write(f"  {change.service!r}: {change.routing_key!r},")
