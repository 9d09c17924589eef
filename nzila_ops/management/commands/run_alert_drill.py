"""manage.py run_alert_drill [--severity P2] [--wait 10m] [--by NAME] [--json]"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError

from nzila_ops.incidents.drill import format_seconds, parse_wait, run_alert_drill
from nzila_ops.management.base import OpsCommand
from nzila_ops.management.commands.incident import checked_severity, checked_text, default_actor


class Command(OpsCommand):
    help = (
        "Alert-path drill: open a drill incident, page it through every configured notifier and "
        "wait for its acknowledgement (the PagerDuty webhook brings it back). Exit 0 with the "
        "measured time to acknowledge; unacknowledged within --wait, exit 1 and the drill "
        "becomes a real P1 incident."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--severity", default="P2", help="the drill page's severity (P2)")
        parser.add_argument("--wait", default="10m", help="how long to wait: 10m, 90s, 1h")
        parser.add_argument("--by", default=None, help="who runs it (default: the OS user)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def run(self, **options: Any) -> None:
        severity = checked_severity(options["severity"])
        wait = parse_wait(options["wait"])
        by = checked_text("--by", options["by"] or default_actor(), required=True)
        # Often enough to measure the acknowledgement closely, not a query storm.
        outcome = run_alert_drill(severity=severity, wait_seconds=wait, by=by,
                                  poll_seconds=min(5.0, wait / 20))  # fmt: skip
        sent = ", ".join(f"{name} {status}" for name, status in outcome.deliveries.items())
        if options["json"]:
            self.stdout.write(json.dumps(outcome.as_dict()))
        elif outcome.passed:
            assert outcome.seconds_to_acknowledge is not None
            self.stdout.write(
                f"alert drill PASSED: incident #{outcome.incident_id} acknowledged by "
                f"{outcome.acknowledged_by} in {format_seconds(outcome.seconds_to_acknowledge)} "
                f"(page: {sent})"
            )
        if not outcome.passed:
            raise CommandError(
                f"alert drill FAILED: incident #{outcome.incident_id} not acknowledged within "
                f"{format_seconds(wait)} (page: {sent or 'none'}); it is now a real "
                f"{outcome.severity} incident",
                returncode=1,
            )
