"""manage.py pre_restore_databases [--database ALIAS] [--drop NAME] [--prune]"""

from __future__ import annotations

from typing import Any

from nzila_ops.backups.kept import drop_kept_copy, list_kept_copies, prune_kept_copies
from nzila_ops.management.base import OpsCommand


class Command(OpsCommand):
    help = (
        "List the databases a restore kept (<name>_pre_restore_<time>); drop one with --drop, "
        "or those older than NZILA_OPS['PRE_RESTORE_KEEP_DAYS'] with --prune."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--database", default="default", help="Django database alias")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--drop", metavar="NAME", help="drop this kept database")
        action.add_argument("--prune", action="store_true", help="drop those past their age")

    def run(self, **options: Any) -> None:
        if options["drop"]:
            drop_kept_copy(options["database"], options["drop"])
            self.stdout.write(f"dropped {options['drop']}")
            return
        if options["prune"]:
            dropped = prune_kept_copies(options["database"])
            self.stdout.write(f"dropped {len(dropped)}: {', '.join(dropped) or 'none'}")
            return
        copies = list_kept_copies(options["database"])
        for name, kept_since in copies:
            self.stdout.write(f"{name}  (kept since {kept_since:%Y-%m-%d %H:%M:%S} UTC)")
        if not copies:
            self.stdout.write("no kept databases")
