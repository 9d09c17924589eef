"""manage.py restore_database (--latest | --backup NAME) [--database ALIAS]
[--from-database ALIAS] [--storage NAME] [--target NAME] [--no-input] [--json]"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

from nzila_ops.backups.confirmation import CONFIRMATION_WORD
from nzila_ops.backups.restore import restore_database
from nzila_ops.management.base import OpsCommand, format_phases


class Command(OpsCommand):
    help = (
        "Restore a backup from backup storage: fetch and verify it, load it into a fresh "
        "database, check every table's row count, then swap it in (the previous database is "
        "kept as <name>_pre_restore_<time>). Works when the database is gone."
    )

    def add_arguments(self, parser: Any) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--latest", action="store_true", help="the newest backup")
        which.add_argument("--backup", metavar="NAME", help="a backup name from list_backups")
        parser.add_argument("--database", default="default", help="Django database alias")
        parser.add_argument(
            "--from-database",
            metavar="ALIAS",
            help="the alias the backup was taken of, when it is not --database (with --latest: "
            "the newest backup of ALIAS)",
        )
        parser.add_argument(
            "--storage",
            metavar="NAME",
            help="read the backup from this storage of NZILA_OPS['STORAGES'] (default: "
            "BACKUP_STORAGE), e.g. a copy in another region",
        )
        parser.add_argument(
            "--target", metavar="NAME", help="restore into this new database and stop there"
        )
        parser.add_argument(
            "--no-input", action="store_false", dest="interactive", help="do not ask to confirm"
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def confirm(self, plan: str) -> bool:
        self.stdout.write(f"{plan}.")
        self.stdout.write(f"Type {CONFIRMATION_WORD} to continue: ", ending="")
        self.stdout.flush()
        try:
            answer = input()
        except EOFError:
            return False
        return answer == CONFIRMATION_WORD

    def run(self, **options: Any) -> None:
        outcome = restore_database(
            database=options["database"],
            backup=options["backup"],
            latest=options["latest"],
            target=options["target"],
            started_by=f"restore_database by {getpass.getuser()}",
            progress=self.progress_for(options),
            confirm=self.confirm if options["interactive"] else None,
            from_database=options["from_database"],
            storage=options["storage"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(outcome.as_dict()))
            return
        verified = outcome.verification
        self.stdout.write(
            f"restored {outcome.backup_name} into {outcome.target} in "
            f"{outcome.total_seconds:.1f} s ({format_phases(outcome.phase_seconds)}); verified "
            f"{verified.get('tables', 0)} tables, {verified.get('rows', 0)} rows"
        )
        if outcome.previous_database:
            self.stdout.write(f"previous database kept as {outcome.previous_database}")
        if outcome.leftovers_removed:
            self.stdout.write(f"removed leftovers: {', '.join(outcome.leftovers_removed)}")
        sys.stdout.flush()
