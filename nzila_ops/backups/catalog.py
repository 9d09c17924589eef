"""Reading what storage holds, for commands and (later) the catalog rebuild after a restore."""

from __future__ import annotations

from typing import Any

from nzila_ops.backups.engines import check_alias
from nzila_ops.backups.manifest import iter_manifests
from nzila_ops.backups.storages import get_storage


def summarise(manifest: dict[str, Any]) -> dict[str, Any]:
    obj = manifest["object"]
    return {
        "name": manifest["name"],
        "database": manifest["database_alias"],
        "engine": manifest["engine"],
        "type": manifest["backup_type"],
        "started_at": manifest["started_at"],
        "finished_at": manifest["finished_at"],
        "key": obj["key"],
        "stored_size": obj["stored_size"],
        "raw_size": obj["raw_size"],
        "ratio": round(obj["raw_size"] / obj["stored_size"], 3) if obj["stored_size"] else 0,
        "sha256": obj["sha256"],
        "compression": manifest["compression"]["algorithm"],
        "encrypted": bool(manifest.get("encryption")),
        "tables": len(manifest.get("tables", [])),
        "rows": sum(table["rows"] for table in manifest.get("tables", [])),
    }


def list_backups(database: str | None = None, storage_name: str | None = None) -> list[dict]:
    """Summaries of every backup in storage (optionally of one alias), newest first."""
    if database is not None:
        check_alias(database)
    return [summarise(m) for m in iter_manifests(get_storage(storage_name), database)]
