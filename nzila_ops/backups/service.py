"""``run_backup``: take one backup of one database, end to end.

Order of work: validate the request; record a running BackupRecord; check the storage and the
dump engine (cheap, before anything is written); stream dump → compression → encryption →
SHA-256 → storage; write the manifest last; mark the record. Any failure removes what was written,
marks the record failed, sends ``backup_failed`` and raises an OpsError with one clear line.
"""

from __future__ import annotations

import logging
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.utils import timezone

import nzila_ops
from nzila_ops import signals
from nzila_ops.backups.catalog import record_fields
from nzila_ops.backups.claim import claim_backup
from nzila_ops.backups.compression import get_codec
from nzila_ops.backups.copies import enqueue_copies
from nzila_ops.backups.encryption import ENCRYPTION_FORMAT, parse_recipients, recipient_fingerprint
from nzila_ops.backups.engines import DumpEngine, DumpResult, check_alias, get_dump_engine
from nzila_ops.backups.manifest import (
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    manifest_key,
    write_manifest,
)
from nzila_ops.backups.pipeline import StreamResult, stream_backup
from nzila_ops.backups.storages import BackupStorage, get_storage
from nzila_ops.conf import BACKUP_TYPES, get_config
from nzila_ops.events import backup_component, severity_for
from nzila_ops.exceptions import BackupError, InvalidArgument, OpsError, describe
from nzila_ops.models import BackupRecord
from nzila_ops.progress import NULL_PROGRESS, Progress

logger = logging.getLogger("nzila_ops.backups")


@dataclass(frozen=True)
class BackupPlan:
    """Everything decided before a backup starts."""

    alias: str
    backup_type: str
    name: str
    object_key: str
    storage: BackupStorage
    engine: DumpEngine
    compression: str
    compression_level: int
    recipients: list[str]


def backup_name(alias: str, backup_type: str, at: datetime) -> str:
    # Sorts by time within an alias; the random tail keeps two backups in one second apart.
    return f"{alias}-{at:%Y%m%dT%H%M%SZ}-{backup_type}-{secrets.token_hex(2)}"


def plan_backup(alias: str, backup_type: str, at: datetime) -> BackupPlan:
    """Validate the request and the configuration. Raises before anything is recorded."""
    check_alias(alias)
    if backup_type not in BACKUP_TYPES:
        raise InvalidArgument(
            f"unknown backup type {backup_type!r}: use one of {', '.join(BACKUP_TYPES)}"
        )
    config = get_config()
    codec = get_codec(config["COMPRESSION"])
    level = codec.check_level(config["COMPRESSION_LEVEL"])
    engine = get_dump_engine(alias)
    name = backup_name(alias, backup_type, at)
    extension = engine.extension + codec.extension + (".age" if config["AGE_RECIPIENTS"] else "")
    return BackupPlan(
        alias=alias,
        backup_type=backup_type,
        name=name,
        object_key=f"{alias}/{name}{extension}",
        storage=get_storage(),
        engine=engine,
        compression=codec.name,
        compression_level=level,
        recipients=list(config["AGE_RECIPIENTS"]),
    )


def build_manifest(
    plan: BackupPlan,
    started_at: datetime,
    finished_at: datetime,
    dump: DumpResult,
    stream: StreamResult,
) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "name": plan.name,
        "database_alias": plan.alias,
        "engine": plan.engine.vendor,
        "backup_type": plan.backup_type,
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "duration_seconds": round((finished_at - started_at).total_seconds(), 3),
        "host": socket.gethostname(),
        "nzila_ops_version": nzila_ops.__version__,
        "storage": {"name": plan.storage.name, "location": plan.storage.describe()},
        "object": {
            "key": plan.object_key,
            "stored_size": stream.stored_size,
            "raw_size": stream.raw_size,
            "sha256": stream.sha256,
        },
        "dump": dump.as_manifest(),
        "compression": {"algorithm": plan.compression, "level": plan.compression_level},
        "encryption": (
            {
                "format": ENCRYPTION_FORMAT,
                "recipients": [recipient_fingerprint(r) for r in plan.recipients],
            }
            if plan.recipients
            else None
        ),
        "tables": dump.tables_manifest(),
        "sequences": dump.sequences_manifest(),
    }


def _record_fields(plan: BackupPlan, started_at: datetime) -> dict[str, Any]:
    """What the catalog row of this backup attempt says from the start."""
    return {
        "name": plan.name,
        "database_alias": plan.alias,
        "engine": plan.engine.vendor,
        "backup_type": plan.backup_type,
        "started_at": started_at,
        "storage_name": plan.storage.name,
        "host": socket.gethostname(),
        "storage_key": plan.object_key,
        "compression": plan.compression,
        "encryption_recipients": [recipient_fingerprint(r) for r in plan.recipients],
    }


def _save_record(record: BackupRecord | None, **fields: Any) -> None:
    if record is None:
        return
    for field, value in fields.items():
        setattr(record, field, value)
    try:
        record.save(update_fields=list(fields))
    except DatabaseError as exc:
        logger.warning("backup %s: cannot update the catalog row: %s", record.name, exc)


def _remove_partial(plan: BackupPlan) -> None:
    for key in (manifest_key(plan.alias, plan.name), plan.object_key):
        try:
            plan.storage.delete(key)
        except OpsError as exc:
            logger.warning("backup %s: could not remove partial %s: %s", plan.name, key, exc)


def _quietly(plan: BackupPlan, what: str, step: Any) -> None:
    """A cleanup step that must not stop the ones after it (nor hide the backup's own error)."""
    try:
        step()
    except Exception as exc:
        logger.warning("backup %s: %s failed: %s", plan.name, what, describe(exc))


def _sweep_abandoned_writes(plan: BackupPlan) -> None:
    """Remove what killed runs left in storage (partial files, incomplete uploads). Best
    effort: a failure here must not cost this backup."""
    try:
        for what in plan.storage.sweep_abandoned_writes():
            logger.warning("backup storage %s: removed %s", plan.storage.name, what)
    except Exception as exc:  # best effort: an OSError of a storage must not cost the backup
        logger.warning(
            "backup storage %s: abandoned writes not swept: %s", plan.storage.name, describe(exc)
        )


def run_backup(
    database: str = "default",
    backup_type: str = "manual",
    progress: Progress = NULL_PROGRESS,
) -> BackupRecord:
    """Take one backup of ``database`` and return its (succeeded) BackupRecord.

    Raises an OpsError subclass, with the record marked failed and nothing left in storage,
    when anything goes wrong.
    """
    started_at = timezone.now()
    plan = plan_backup(database, backup_type, started_at)
    claim = claim_backup(plan.alias, _record_fields(plan, started_at), started_at)
    # The claim goes whatever happens below, even if a cleanup step itself fails: a claim left
    # held by a live worker would skip every later backup of this database.
    try:
        record = claim.record
        writer = None
        wrote = False
        try:
            recipients = parse_recipients(plan.recipients)
            progress.phase("check")
            plan.storage.check()
            plan.engine.preflight()
            _sweep_abandoned_writes(plan)
            progress.phase("dump")
            wrote = True
            writer = plan.storage.open_writer(plan.object_key)
            threads = get_config()["COMPRESSION_THREADS"]
            with plan.engine.open_dump() as (source, dump):
                stream = stream_backup(
                    source,
                    writer,
                    plan.compression,
                    plan.compression_level,  # checked by plan_backup
                    threads,
                    recipients,
                    progress.advance,
                )
            progress.phase("upload")
            committing = time.perf_counter()
            writer.commit()
            committed = time.perf_counter() - committing
            version_id, writer = writer.version_id, None
            finished_at = timezone.now()
            manifest = build_manifest(plan, started_at, finished_at, dump, stream)
            stages = dict(stream.stage_seconds)
            stages["upload"] = round(stages.get("upload", 0.0) + committed, 3)
            # Where the time went (docs/backups.md), for the operator and the benchmark.
            manifest["stage_seconds"] = stages
            if version_id:
                # The locked version: a restore reads it even if the key was overwritten since.
                manifest["object"]["version_id"] = version_id
            write_manifest(plan.storage, manifest)
        except BaseException as exc:
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else describe(exc)
            # The cause first; cleaning up may fail for the same cause (a missing bucket).
            logger.error("backup of %s failed: %s", plan.alias, reason)
            if writer is not None:
                _quietly(plan, "aborting the partial object", writer.abort)
            if wrote:
                _quietly(plan, "removing the partial object", lambda: _remove_partial(plan))
            # Recorded before the claim goes: a run taking it over must not find us 'running'.
            _save_record(
                record, status=BackupRecord.Status.FAILED, finished_at=timezone.now(), error=reason
            )
            claim.release()
            _quietly(
                plan,
                "sending backup_failed",
                lambda: signals.backup_failed.send(
                    sender=BackupRecord,
                    record=record,
                    component=backup_component(plan.alias),
                    severity=severity_for(backup_component(plan.alias)),
                    reason=reason,
                    at=timezone.now(),
                ),
            )
            _quietly(plan, "ending the progress display", progress.finish)
            if isinstance(exc, OpsError) or not isinstance(exc, Exception):
                raise
            raise BackupError(f"backup of {plan.alias!r} failed: {reason}") from exc
        _save_record(
            record,
            status=BackupRecord.Status.SUCCEEDED,
            finished_at=finished_at,
            stored_size=stream.stored_size,
            raw_size=stream.raw_size,
            sha256=stream.sha256,
            server_version=dump.server_version,
            tool_version=dump.tool_version,
            manifest=manifest,
        )
    finally:
        claim.release()
    _quietly(plan, "ending the progress display", progress.finish)
    if record is None:  # the catalog was unreachable; describe the backup from its manifest
        record = BackupRecord(name=plan.name, **record_fields(manifest, plan.storage.name))
    logger.info("backup %s succeeded: %s bytes stored", plan.name, stream.stored_size)
    signals.backup_succeeded.send(
        sender=BackupRecord, record=record, component=backup_component(plan.alias), at=finished_at
    )
    _quietly(plan, "queueing its copies", lambda: enqueue_copies(plan.name))
    return record
