"""manage.py check_health [NAME ...] [--json] — exit 0 when nothing fails, 1 otherwise."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError

from nzila_ops.exceptions import InvalidArgument
from nzila_ops.health.registry import get_checks
from nzila_ops.health.runner import run_checks
from nzila_ops.management.base import OpsCommand


def shown_name(name: str) -> str:
    """A name as typed, on one line and of bounded length: it may hold anything (a newline, a
    control character, a pasted page)."""
    if name.isprintable() and len(name) <= 64:
        return name
    return repr(name[:64]) + ("..." if len(name) > 64 else "")


class Command(OpsCommand):
    help = "Run health checks (all, or the ones named) and print each result with its reason."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("names", nargs="*", metavar="NAME", help="check names (default: all)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def run(self, *args: Any, **options: Any) -> None:
        checks = get_checks()
        names = options["names"]
        unknown = sorted(set(names) - {check.name for check in checks})
        if unknown:
            known = ", ".join(check.name for check in checks)
            shown = ", ".join(shown_name(name) for name in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise InvalidArgument(f"unknown check(s) {shown}{more} (known: {known})")
        if names:
            checks = [check for check in checks if check.name in names]
        report = run_checks(checks, use_cache=False)
        if options["json"]:
            self.stdout.write(json.dumps({
                "status": report.status.value,
                "checks": {r.name: {"status": r.status.value, **r.as_detail()}
                           for r in report.results},
            }))  # fmt: skip
        else:
            for r in report.results:
                critical = "critical" if r.critical else "warning-level"
                self.stdout.write(
                    f"{r.name:<20} {r.status.value:<8} {r.latency_ms:7.1f} ms  {critical:<13} "
                    f"{r.reason}"
                )
        if report.failing:
            failing = [r.name for r in report.results if r.status.value == "failing"]
            raise CommandError(f"failing: {', '.join(failing)}", returncode=1)
