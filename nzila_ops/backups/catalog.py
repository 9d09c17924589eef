"""Reading what storage holds, for commands and (later) the catalog rebuild after a restore."""

from __future__ import annotations

from typing import Any

from nzila_ops.backups.engines import check_alias
from nzila_ops.backups.manifest import iter_manifests
from nzila_ops.backups.storages import BackupStorage, get_storage
from nzila_ops.conf import get_config
from nzila_ops.exceptions import InvalidArgument


def check_storage_name(name: str | None) -> str:
    """The storage an operator chose with ``--storage`` (None: BACKUP_STORAGE), as a name of
    NZILA_OPS['STORAGES']; InvalidArgument (one line, exit 2) for any other name, before
    anything is read or changed."""
    config = get_config()
    if name is None:
        return str(config["BACKUP_STORAGE"])
    if name not in config["STORAGES"]:
        known = ", ".join(sorted(config["STORAGES"])) or "none configured"
        # Quoted and cut: the name is whatever was typed (control characters, thousands of
        # them), and the message stays one readable line.
        shown = repr(name) if len(repr(name)) <= 80 else f"{repr(name)[:80]}..."
        raise InvalidArgument(
            f"--storage {shown} is not a storage in NZILA_OPS['STORAGES'] (configured: {known})"
        )
    return name


def storage_named(name: str | None) -> BackupStorage:
    """The storage called ``name`` (None: BACKUP_STORAGE); an unknown name is InvalidArgument.

    Whatever storage is chosen, its backups are read from its own manifests: a copy in a
    second region is listed, verified and restored with the primary unreachable."""
    return get_storage(check_storage_name(name))


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


def list_backups(
    database: str | None = None,
    storage_name: str | None = None,
    skipped: list[str] | None = None,
) -> list[dict]:
    """Summaries of every backup in storage (optionally of one alias), newest first; the
    manifests left out as not valid are added to ``skipped``."""
    if database is not None:
        check_alias(database)
    return [summarise(m) for m in iter_manifests(storage_named(storage_name), database, skipped)]


def record_fields(manifest: dict[str, Any], storage_name: str) -> dict[str, Any]:
    """BackupRecord fields for a backup, from its manifest alone."""
    from datetime import datetime

    obj = manifest["object"]
    encryption = manifest.get("encryption") or {}
    return {
        "database_alias": manifest["database_alias"],
        "engine": manifest["engine"],
        "backup_type": manifest["backup_type"],
        "status": "succeeded",
        "started_at": datetime.fromisoformat(manifest["started_at"]),
        "finished_at": datetime.fromisoformat(manifest["finished_at"]),
        "storage_name": storage_name,
        "storage_key": obj["key"],
        "stored_size": obj["stored_size"],
        "raw_size": obj["raw_size"],
        "sha256": obj["sha256"],
        "compression": manifest["compression"]["algorithm"],
        "encryption_recipients": encryption.get("recipients", []),
        "server_version": manifest["dump"].get("server_version", ""),
        "tool_version": manifest["dump"].get("tool_version", ""),
        "manifest": manifest,
        "error": "",
        "host": manifest.get("host", ""),
    }


def sync_catalog(storage: BackupStorage | None = None) -> dict[str, int]:
    """Make the BackupRecord catalog agree with storage (after a restore, or on a new host).

    Every manifest gets a succeeded row. Rows still 'running' that storage has no manifest for,
    and that started before the newest backup in storage, were interrupted: they are marked
    failed. Other rows are history and are kept."""
    from nzila_ops.models import BackupRecord

    storage = storage or get_storage()
    manifests = list(iter_manifests(storage))
    created = updated = 0
    newest = None
    for manifest in manifests:
        fields = record_fields(manifest, storage.name)
        _, was_created = BackupRecord.objects.update_or_create(
            name=manifest["name"], defaults=fields
        )
        created += was_created
        updated += not was_created
        newest = fields["started_at"] if newest is None else max(newest, fields["started_at"])
    interrupted = 0
    if newest is not None:
        interrupted = (
            BackupRecord.objects.filter(status="running", started_at__lt=newest)
            .exclude(name__in=[m["name"] for m in manifests])
            .update(status="failed", error="interrupted: no manifest in storage")
        )
    return {"created": created, "updated": updated, "interrupted": interrupted}


def backups_since(hours: int = 24) -> list[Any]:
    """Every backup record started in the last ``hours`` (the daily digest), oldest first."""
    from datetime import timedelta

    from django.utils import timezone

    from nzila_ops.models import BackupRecord

    cutoff = timezone.now() - timedelta(hours=hours)
    return list(BackupRecord.objects.filter(started_at__gte=cutoff).order_by("started_at"))


def configured_location() -> str:
    """Where the storage new backups go to points now (``file:///srv/backups``,
    ``s3://bucket/prefix``), as its manifests record it. Raises ConfigurationError."""
    return get_storage().describe()


def newest_good_backup(alias: str, location: str | None = None) -> Any:
    """The newest successful, not deleted backup record of ``alias`` in the storage at
    ``location`` (default: the configured one), or None: what the RPO watch and the
    backup-freshness health check both measure.

    Rows are matched on the location their manifest records, not on the storage's name: when
    STORAGES["default"] is pointed at another bucket or directory, the backups of the old one
    are not in the configured storage and must not count as good (they count again if the
    setting points back)."""
    from nzila_ops.models import BackupRecord

    location = configured_location() if location is None else location
    return (
        BackupRecord.objects.filter(
            database_alias=alias,
            status=BackupRecord.Status.SUCCEEDED,
            deleted_at=None,
            manifest__storage__location=location,
        )
        .order_by("-finished_at")
        .first()
    )


def rpo_limit_seconds(config: dict[str, Any]) -> float:
    """Past this age the newest good backup breaches the RPO (target plus grace)."""
    return float(config["RPO_TARGET_SECONDS"] + config["RPO_GRACE_SECONDS"])
