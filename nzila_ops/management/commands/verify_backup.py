"""manage.py verify_backup (--latest | NAME) [--database ALIAS] [--storage NAME] [--json]"""

from __future__ import annotations

import json
from typing import Any

from nzila_ops.backups.verify_record import verify_and_record
from nzila_ops.exceptions import InvalidArgument
from nzila_ops.management.base import OpsCommand, human_size


class Command(OpsCommand):
    help = (
        "Fetch a backup and check its checksum, age authentication and compression, and read "
        "the dump's table of contents, without restoring it. Exits non-zero on any fault."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", nargs="?", help="a backup name from list_backups")
        parser.add_argument("--latest", action="store_true", help="the newest backup")
        parser.add_argument("--database", default=None, help="with --latest: this alias only")
        parser.add_argument(
            "--storage",
            metavar="NAME",
            help="verify the backup as held by this storage of NZILA_OPS['STORAGES'] (default: "
            "BACKUP_STORAGE), e.g. a copy in another region",
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def run(self, **options: Any) -> None:
        if bool(options["name"]) == bool(options["latest"]):
            raise InvalidArgument("give either a backup NAME or --latest")
        # The outcome is also kept on the backup's catalog row (the admin shows it).
        report = verify_and_record(
            name=options["name"],
            latest=options["latest"],
            database=options["database"],
            progress=self.progress_for(options),
            storage_name=options["storage"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(
            f"OK {report['name']}: {human_size(report['stored_size'])}, sha256 matches, "
            f"{'age authenticated, ' if report['encrypted'] else ''}"
            f"{human_size(report['raw_size'])} dump readable, {report['tables']} tables "
            f"(storage {report['storage']})"
        )
