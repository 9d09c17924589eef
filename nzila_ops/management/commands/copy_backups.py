"""manage.py copy_backups [--storage NAME] [--database ALIAS] [--dry-run] [--json]"""

from __future__ import annotations

import json
from typing import Any

from nzila_ops.backups.copy_missing import copy_missing
from nzila_ops.exceptions import OpsError
from nzila_ops.management.base import OpsCommand, human_size


class Command(OpsCommand):
    help = (
        "Copy every backup that a copy target (NZILA_OPS['COPY_STORAGES']) lacks, verified "
        "against its manifest: after an outage of the target, or for a target just added."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--storage", metavar="NAME", help="one copy target (default: all)")
        parser.add_argument("--database", metavar="ALIAS", help="one alias (default: all)")
        parser.add_argument("--dry-run", action="store_true", help="say what would be copied")
        parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")

    def run(self, **options: Any) -> None:
        outcomes = copy_missing(options["storage"], options["database"], options["dry_run"])
        if options["json"]:
            self.stdout.write(json.dumps([o.as_dict() for o in outcomes], indent=2))
        elif not outcomes:
            self.stdout.write("nothing to copy: every copy target holds what it should")
        for outcome in outcomes if not options["json"] else []:
            detail = outcome.error or f"{human_size(outcome.stored_size)}"
            if outcome.result == "copied":
                detail += f" in {outcome.seconds:.1f} s, sha256 {outcome.sha256[:16]}… verified"
            what = outcome.backup or "listing"  # no backup: the target could not be listed
            self.stdout.write(f"{what} -> {outcome.storage}: {outcome.result} ({detail})")
        failed = [o for o in outcomes if o.result == "failed"]
        if failed:
            raise OpsError(
                f"{len(failed)} cop{'ies' if len(failed) > 1 else 'y'} failed; the first: "
                f"{failed[0].backup or 'listing'} -> {failed[0].storage}: {failed[0].error}"
            )
