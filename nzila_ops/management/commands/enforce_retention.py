"""manage.py enforce_retention [--dry-run] [--database ALIAS] [--json]"""

from __future__ import annotations

import json
from typing import Any

from nzila_ops.backups.retention import enforce_retention_all
from nzila_ops.exceptions import OpsError
from nzila_ops.management.base import OpsCommand


class Command(OpsCommand):
    help = (
        "Apply grandfather-father-son retention to the backups in storage: print each backup "
        "with keep or delete and the bucket(s) that keep it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="decide, delete nothing")
        parser.add_argument("--database", default=None, help="one alias (default: all)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def run(self, **options: Any) -> None:
        runs = enforce_retention_all(options["database"], dry_run=options["dry_run"])
        if options["json"]:
            self.stdout.write(json.dumps([run.as_dict() for run in runs], indent=2))
        else:
            for run in runs:
                where = f" in storage {run.storage}" if run.storage else ""
                if run.error:
                    self.stdout.write(f"database {run.database}{where}: FAILED: {run.error}")
                    continue
                self.stdout.write(f"database {run.database}{where}:")
                for d in run.decisions:
                    if d.keep:
                        verdict = "keep"
                    elif options["dry_run"]:
                        verdict = "delete (dry run)"
                    elif d.name in run.locked:
                        # Object lock keeps it: deleted by a run after that date.
                        verdict = f"kept: locked until {run.locked[d.name]:%Y-%m-%d %H:%M} UTC"
                    else:
                        verdict = "FAILED to delete" if d.name in run.failed else "deleted"
                    why = ", ".join(d.reasons) or "in no retention bucket"
                    self.stdout.write(f"  {d.name:<48} {verdict:<16} {why}")
                for what in run.swept:
                    self.stdout.write(f"  removed {what}")
        broken = [f"{run.storage} ({run.database}): {run.error}" for run in runs if run.error]
        if broken:
            raise OpsError(f"retention failed in storage {'; '.join(broken)}")
        failed = {name: error for run in runs for name, error in run.failed.items()}
        if failed:
            raise OpsError(f"{len(failed)} deletion(s) failed and will be retried: {failed}")
        unlocked = {name: error for run in runs for name, error in run.lock_failed.items()}
        if unlocked:
            raise OpsError(
                f"{len(unlocked)} kept backup(s) could not have their object lock extended "
                f"(retried next run): {unlocked}"
            )
