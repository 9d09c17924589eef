"""manage.py backup_database [--type TYPE] [--database ALIAS] [--json]"""

from __future__ import annotations

import json
from typing import Any

from nzila_ops.backups.service import run_backup
from nzila_ops.conf import BACKUP_TYPES
from nzila_ops.management.base import OpsCommand, human_size


class Command(OpsCommand):
    help = "Take a streaming, compressed, encrypted backup of one database to backup storage."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--type", default="manual", help=f"one of {', '.join(BACKUP_TYPES)}")
        parser.add_argument("--database", default="default", help="Django database alias")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def run(self, **options: Any) -> None:
        record = run_backup(
            database=options["database"],
            backup_type=options["type"],
            progress=self.progress_for(options),
        )
        summary = {
            "name": record.name,
            "database": record.database_alias,
            "type": record.backup_type,
            "storage": record.storage_name,
            "key": record.storage_key,
            "stored_size": record.stored_size,
            "raw_size": record.raw_size,
            "ratio": round(record.compression_ratio or 0, 3),
            "duration_seconds": round(record.duration_seconds or 0, 3),
            "sha256": record.sha256,
            "compression": record.compression,
            "encrypted": record.encrypted,
            "tables": len((record.manifest or {}).get("tables", [])),
            # Busy seconds per stage; dump overlaps the others (docs/backups.md).
            "stage_seconds": (record.manifest or {}).get("stage_seconds", {}),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(
            f"{record.name}: {human_size(record.stored_size)} stored "
            f"(raw {human_size(record.raw_size)}, ratio {summary['ratio']:.2f}x) "
            f"in {summary['duration_seconds']:.1f} s, "
            f"{'encrypted' if record.encrypted else 'NOT encrypted'}, sha256 {record.sha256}"
        )
