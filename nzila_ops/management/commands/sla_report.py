"""manage.py sla_report [--period 2026-10|2026-Q4|2026] [--format text|json|csv].

Without --period: the last complete month (what the monthly e-mail reports)."""

from __future__ import annotations

import json
from typing import Any

from nzila_ops.exceptions import InvalidArgument
from nzila_ops.management.base import OpsCommand
from nzila_ops.sla.periods import parse_period, previous_month
from nzila_ops.sla.render import to_csv, to_text
from nzila_ops.sla.report import build_report

FORMATS = ("text", "json", "csv")


class Command(OpsCommand):
    help = (
        "The SLA report of a month (2026-10), quarter (2026-Q4) or year (2026) in the SLA time "
        "zone: uptime, error budget, credits, incident SLA, data protection, latency."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--period", default=None, help="2026-10, 2026-Q4 or 2026; default: the last month"
        )
        # Checked in run(), not with argparse choices: a wrong value is one line and exit 2.
        parser.add_argument("--format", default="text", help="text (default), json or csv")

    def run(self, **options: Any) -> None:
        if options["format"] not in FORMATS:
            raise InvalidArgument(
                f"--format {str(options['format'])[:40]!r} is not one of {', '.join(FORMATS)}"
            )
        text = options["period"]
        report = build_report(previous_month() if text is None else parse_period(text))
        if options["format"] == "json":
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        elif options["format"] == "csv":
            self.stdout.write(to_csv(report), ending="")
        else:
            self.stdout.write(to_text(report), ending="")
