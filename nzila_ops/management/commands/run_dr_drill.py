"""manage.py run_dr_drill [--database ALIAS] [--backup NAME [--from-database ALIAS]]
[--storage NAME] [--json]"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError

from nzila_ops.backups.drills import run_drill
from nzila_ops.management.base import OpsCommand, format_phases


class Command(OpsCommand):
    help = (
        "Disaster-recovery drill: restore the latest backup (or --backup NAME) into a scratch "
        "database, verify it, measure the RTO, drop the scratch database and record the result."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--database", default="default", help="Django database alias")
        parser.add_argument(
            "--backup", metavar="NAME", help="drill this backup instead of the latest"
        )
        parser.add_argument(
            "--from-database",
            metavar="ALIAS",
            help="the alias the backup was taken of, when it is not --database",
        )
        parser.add_argument(
            "--storage",
            metavar="NAME",
            help="drill from this storage of NZILA_OPS['STORAGES'] (default: "
            "BACKUP_STORAGE), e.g. a copy in another region",
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def run(self, **options: Any) -> None:
        record = run_drill(
            options["database"],
            progress=self.progress_for(options),
            backup=options["backup"],
            from_database=options["from_database"],
            storage=options["storage"],
        )
        summary = {
            "result": record.result,
            "database": record.database_alias,
            "backup": record.backup_name,
            "storage": record.verification.get("storage"),
            "rto_seconds": record.rto_seconds,
            "rto_target_seconds": record.rto_target_seconds,
            "phase_seconds": record.phase_seconds,
            "verification": record.verification,
            "error": record.error,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        elif record.result == "passed":
            self.stdout.write(
                f"drill PASSED: {record.backup_name} (storage {record.verification['storage']}) "
                "restored and verified in "
                f"{record.rto_seconds:.1f} s (RTO target {record.rto_target_seconds:.0f} s; "
                f"{format_phases(record.phase_seconds)})"
            )
        if record.result != "passed":
            raise CommandError(f"drill FAILED: {record.error}", returncode=1)
