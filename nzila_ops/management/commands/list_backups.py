"""manage.py list_backups [--database ALIAS] [--storage NAME] [--json] — what storage holds,
from manifests."""

from __future__ import annotations

import json
from typing import Any

from nzila_ops.backups.catalog import list_backups
from nzila_ops.backups.copies import copy_status
from nzila_ops.conf import get_config
from nzila_ops.management.base import OpsCommand, human_size


class Command(OpsCommand):
    help = "List the backups in backup storage (read from their manifests), newest first."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--database", default=None, help="only this Django database alias")
        parser.add_argument(
            "--storage",
            metavar="NAME",
            help="list the backups in this storage of NZILA_OPS['STORAGES'] (default: "
            "BACKUP_STORAGE), e.g. a copy in another region",
        )
        parser.add_argument("--json", action="store_true", help="print the list as JSON")

    def run(self, **options: Any) -> None:
        skipped: list[str] = []
        backups = list_backups(options["database"], options["storage"], skipped)
        if skipped:
            # On stderr, so that --json stays one document; the backup itself is not listed.
            many = "s that are" if len(skipped) > 1 else " that is"
            self.stderr.write(
                f"skipped {len(skipped)} manifest{many} not valid: {'; '.join(skipped)}"
            )
        # The copy status of each backup per copy target, from the catalog ("-": none recorded).
        # The catalog's copies are of the primary's backups: not shown for another storage.
        config = get_config()
        primary = options["storage"] in (None, config["BACKUP_STORAGE"])
        targets = config["COPY_STORAGES"] if primary else []
        if targets:
            status = copy_status(backup["name"] for backup in backups)
            for backup in backups:
                held = status.get(backup["name"], {})
                backup["copies"] = {target: held.get(target, "-") for target in targets}
        if options["json"]:
            self.stdout.write(json.dumps(backups, indent=2))
            return
        if not backups:
            where = f" {options['storage']}" if options["storage"] else ""
            self.stdout.write(f"no backups in storage{where}")
            return
        header = f"{'NAME':<48} {'TYPE':<8} {'FINISHED (UTC)':<20} {'SIZE':>9} {'RATIO':>6}  ENC"
        self.stdout.write(header + ("  COPIES" if targets else ""))
        for backup in backups:
            self.stdout.write(
                f"{backup['name']:<48} {backup['type']:<8} {backup['finished_at'][:19]:<20} "
                f"{human_size(backup['stored_size']):>9} {backup['ratio']:>5.2f}x  "
                f"{'age' if backup['encrypted'] else 'no'}"
                + "".join(f"  {t}:{s}" for t, s in backup.get("copies", {}).items())
            )
