"""The history of restores and drills, kept in backup storage beside the manifests.

RestoreRecord and DrillRecord rows live in the app's database, the very thing a restore
replaces: every row written after the restored backup was taken went away with it (after six
restores, three were left), and the history an SLA report or an audit reads had holes. So each
record is also written to storage, as a small JSON document

    _history/restores/<UTC time to the microsecond>-<8 hex>.json
    _history/drills/<UTC time to the microsecond>-<8 hex>.json

and after every restore the rows are rebuilt from there, as the backup catalog is rebuilt from
the manifests: storage holds the truth, the rows are its index. A document is written before
its row, and a row remembers its document's key (``history_key``), so a rebuild reads only the
documents the database lacks.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from nzila_ops.backups.storages import BackupStorage
from nzila_ops.exceptions import OpsError

logger = logging.getLogger("nzila_ops.history")

HISTORY_PREFIX = "_history/"
HISTORY_FORMAT = "nzila-ops-history"
HISTORY_VERSION = 1
KINDS = {"restore": "restores", "drill": "drills"}
DATETIME_FIELDS = ("started_at", "finished_at")


def _model(kind: str) -> type[models.Model]:
    from nzila_ops.models import DrillRecord, RestoreRecord

    return {"restore": RestoreRecord, "drill": DrillRecord}[kind]


def new_history_key(kind: str, at: datetime) -> str:
    # Microseconds, so that keys sort in the order the runs started, even several in a second.
    return f"{HISTORY_PREFIX}{KINDS[kind]}/{at:%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(4)}.json"


def record_run(kind: str, fields: dict[str, Any], storage: BackupStorage | None) -> Any:
    """Keep one restore or drill: its document in ``storage`` first, then its row.

    Either may fail without losing the other (storage unreachable: the row is still written
    and the failure logged; the database gone or never migrated: the document is there for
    the next rebuild). Returns the row, or None when it could not be written."""
    model = _model(kind)
    key = None
    if storage is not None:
        started = fields["started_at"]
        if isinstance(started, str):
            started = parse_datetime(started)
        key = new_history_key(kind, started or timezone.now())
        document = {
            "format": HISTORY_FORMAT,
            "version": HISTORY_VERSION,
            "kind": kind,
            "record": fields,
        }
        try:
            storage.write_bytes(key, json.dumps(document, cls=DjangoJSONEncoder).encode())
        except OpsError as exc:
            logger.error(
                "%s of %s not kept in backup storage (only in the database, where a restore can "
                "erase it): %s",
                kind,
                fields.get("database_alias"),
                exc,
            )
            key = None
    try:
        return model.objects.create(history_key=key, **_row_fields(fields))  # type: ignore[attr-defined]
    except DatabaseError as exc:
        # The database may be gone or hold no nzila_ops tables (a backup taken before they
        # were migrated); the document in storage is rebuilt into rows later.
        logger.warning("%s of %s: no row written: %s", kind, fields.get("database_alias"), exc)
        return None


def _row_fields(fields: dict[str, Any]) -> dict[str, Any]:
    row = dict(fields)
    for name in DATETIME_FIELDS:
        if isinstance(row.get(name), str):
            row[name] = parse_datetime(row[name])
    return row


def sync_history(storage: BackupStorage) -> dict[str, int]:
    """Give every restore and drill document in storage its row (after a restore, or on a new
    host). Reads only the documents that have no row yet; rows are never deleted."""
    keys = [key for key in storage.list_keys(HISTORY_PREFIX) if key.endswith(".json")]
    known: set[str] = set()
    for kind in KINDS:
        known.update(
            _model(kind)
            .objects.exclude(history_key=None)  # type: ignore[attr-defined]
            .values_list("history_key", flat=True)
        )
    created = skipped = 0
    for key in sorted(set(keys) - known):
        document = _read(storage, key)
        if document is None:
            skipped += 1
            continue
        model = _model(document["kind"])
        fields = {
            name: value
            for name, value in _row_fields(document["record"]).items()
            if name in {field.name for field in model._meta.fields}
        }
        try:
            model.objects.create(history_key=key, **fields)  # type: ignore[attr-defined]
        except (DatabaseError, TypeError, ValueError) as exc:
            logger.warning("skipping history document %s: %s", key, exc)
            skipped += 1
            continue
        created += 1
    return {"created": created, "skipped": skipped}


def _read(storage: BackupStorage, key: str) -> dict[str, Any] | None:
    try:
        document = json.loads(storage.read_bytes(key))
    except (OpsError, ValueError) as exc:
        logger.warning("skipping history document %s: %s", key, exc)
        return None
    if (
        not isinstance(document, dict)
        or document.get("format") != HISTORY_FORMAT
        or document.get("kind") not in KINDS
        or not isinstance(document.get("record"), dict)
    ):
        logger.warning("skipping %s: not an nzila_ops history document", key)
        return None
    return document
