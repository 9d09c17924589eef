"""Manifests: the JSON document stored beside each backup object.

Storage is the source of truth. A backup exists only once its manifest is written, and the
manifest is written last, so an object without one (a crash mid-upload) is never listed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Container, Iterator
from datetime import datetime
from typing import Any

from nzila_ops.backups.storages import BackupStorage
from nzila_ops.exceptions import BackupNotFound, InvalidArgument, StorageError

logger = logging.getLogger("nzila_ops.backups")

MANIFEST_FORMAT = "nzila-ops-backup"
MANIFEST_VERSION = 1
MANIFEST_SUFFIX = ".manifest.json"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def check_backup_name(name: str) -> str:
    """Refuse names that are not plain backup names (path separators, '..', empty)."""
    if not NAME_PATTERN.match(name) or ".." in name:
        raise InvalidArgument(f"invalid backup name {name!r}: use a name as shown by list_backups")
    return name


#: Identifiers PostgreSQL prints without quotes (keywords aside, which need none in a label).
PLAIN_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_$]*$")


def table_label(schema: str, name: str) -> str:
    """How an operator reads a table's name: quoted where PostgreSQL would quote it, so
    ``"Sales Ops"."Deal Lines"`` cannot be mistaken for anything else."""

    def quote(part: str) -> str:
        return part if PLAIN_IDENTIFIER.match(part) else '"' + part.replace('"', '""') + '"'

    return f"{quote(schema)}.{quote(name)}"


def missing_tables(
    manifest: dict[str, Any], present: Container[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The (schema, name) of every table of the manifest that is not in ``present``.

    The one rule that decides whether a backup holds every table, used by verify_backup
    (``present`` read from the dump's table of contents) and by restores and drills (read from
    the restored database), so the two cannot disagree about the same backup."""
    keys = [(table["schema"], table["name"]) for table in manifest.get("tables", [])]
    return [key for key in keys if key not in present]


def manifest_key(alias: str, name: str) -> str:
    return f"{alias}/{name}{MANIFEST_SUFFIX}"


def write_manifest(storage: BackupStorage, manifest: dict[str, Any]) -> None:
    key = manifest_key(manifest["database_alias"], manifest["name"])
    storage.write_bytes(key, json.dumps(manifest, indent=2, sort_keys=True).encode())


SHA256 = re.compile(r"^[0-9a-f]{64}$")


def manifest_fault(key: str, manifest: Any) -> str:
    """What is wrong with a parsed manifest read from ``key`` ('' when nothing): the fields
    retention, listing, copies and restores rely on, checked once here rather than failing as
    a bare KeyError or TypeError wherever one of them is first used."""
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return "not an nzila_ops manifest"
    name, alias, obj = manifest.get("name"), manifest.get("database_alias"), manifest.get("object")
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or ".." in name:
        return "no valid name"
    if not isinstance(alias, str) or not alias:
        return "no database_alias"
    if key != manifest_key(alias, name):
        return f"its name and database_alias ({alias}/{name}) are not its key's"
    try:
        finished = datetime.fromisoformat(manifest["finished_at"])
    except (KeyError, TypeError, ValueError):
        return "no valid finished_at"
    if finished.tzinfo is None:
        return "finished_at has no time zone"
    if not isinstance(obj, dict) or not isinstance(obj.get("key"), str) or not obj["key"]:
        return "no object key"
    size = obj.get("stored_size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return "no valid object stored_size"
    if not isinstance(obj.get("sha256"), str) or not SHA256.match(obj["sha256"]):
        return "no valid object sha256"
    return ""


def _parse(key: str, data: bytes, skipped: list[str] | None = None) -> dict[str, Any] | None:
    """The manifest stored at ``key``, or None (logged, and added to ``skipped``) when it is
    unreadable or malformed: one bad manifest must not stop a listing or a retention run."""
    try:
        manifest = json.loads(data)
    except ValueError:
        fault = "not JSON"
        logger.warning("skipping unreadable manifest %s", key)
    else:
        fault = manifest_fault(key, manifest)
        if not fault:
            return manifest  # type: ignore[no-any-return]  # json.loads gives Any; checked
        logger.warning("skipping %s: %s", key, fault)
    if skipped is not None:
        skipped.append(f"{key} ({fault})")
    return None


def iter_manifests(
    storage: BackupStorage, alias: str | None = None, skipped: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Every backup in storage (optionally of one database alias), newest first. A manifest
    that is not valid is left out, logged and added to ``skipped`` ("<key> (<what is wrong>)")."""
    prefix = f"{alias}/" if alias else ""
    keys = [key for key in storage.list_keys(prefix) if key.endswith(MANIFEST_SUFFIX)]
    manifests = []
    for key in keys:
        try:
            manifest = _parse(key, storage.read_bytes(key), skipped)
        except StorageError:
            continue  # deleted between listing and reading (retention running)
        if manifest is not None and (alias is None or manifest.get("database_alias") == alias):
            manifests.append(manifest)
    manifests.sort(key=lambda m: (m.get("finished_at") or "", m["name"]), reverse=True)
    return iter(manifests)


def resolve_backup(
    storage: BackupStorage, database: str | None, name: str | None, latest: bool
) -> dict[str, Any]:
    """The manifest of the named backup, or with ``latest`` the newest one of ``database``
    (of any database when None). Restores, drills and verification all choose this way."""
    if name is not None:
        return find_manifest(storage, name)
    if not latest:
        raise InvalidArgument("give a backup name or --latest")
    newest = _newest_manifest(storage, database) if database else None
    if newest is None:
        newest = next(iter_manifests(storage, database), None)
    if newest is not None:
        return newest
    what = f"database {database!r}" if database else "any database"
    raise BackupNotFound(f"no backups of {what} in {storage.describe()}")


def _newest_manifest(storage: BackupStorage, alias: str) -> dict[str, Any] | None:
    """The newest readable manifest of ``alias``, reading as few as possible: a restore from
    S3 should not fetch every manifest kept by retention to use one. Names start with the
    alias and the UTC start time (service.backup_name), and one backup of a database runs at
    a time, so within an alias the names sort in time order."""
    prefix = f"{alias}/"
    keys = [key for key in storage.list_keys(prefix) if key.endswith(MANIFEST_SUFFIX)]
    for key in sorted(keys, reverse=True):
        try:
            manifest = _parse(key, storage.read_bytes(key))
        except StorageError:
            continue  # deleted between listing and reading (retention running)
        if manifest is not None and manifest.get("database_alias") == alias:
            return manifest
    return None


#: Names are ``<alias>-<UTC time>-<type>-<4 hex>`` (service.backup_name); the alias may hold
#: dashes, the rest never does.
NAME_PARTS = re.compile(r"^(?P<alias>.+)-\d{8}T\d{6}Z-[a-z]+-[0-9a-f]{4}$")


def alias_of(name: str) -> str:
    """The database alias a backup name starts with; InvalidArgument for a name that is not
    shaped like one."""
    check_backup_name(name)
    match = NAME_PARTS.match(name)
    if not match:
        raise InvalidArgument(
            f"invalid backup name {name!r}: names look like "
            "<alias>-<UTC time>-<type>-<4 hex>, as shown by list_backups"
        )
    return match.group("alias")


def find_manifest(storage: BackupStorage, name: str) -> dict[str, Any]:
    """The manifest of the backup called ``name``; BackupNotFound if storage has none.

    One read of its key, found from the name itself: listing the whole storage to find one
    manifest costs a request per thousand keys on S3 and grows with retention."""
    key = manifest_key(alias_of(name), name)
    try:
        data = storage.read_bytes(key)
    except StorageError:
        if storage.exists(key):
            raise  # there, but unreadable now (storage down, access denied): say so
        raise BackupNotFound(f"no backup named {name!r} in {storage.describe()}") from None
    manifest = _parse(key, data)
    if manifest is None or manifest.get("name") != name:
        raise BackupNotFound(
            f"backup {name!r} in {storage.describe()} has no readable manifest ({key})"
        )
    return manifest


def check_backup_database(
    manifest: dict[str, Any], database: str, from_database: str | None
) -> None:
    """Refuse to load a backup of one database into another unless the operator said where it
    came from (``from_database`` equal to the manifest's alias): restoring production's backup
    over the reporting database by a slip of ``--database`` destroys it."""
    source = manifest["database_alias"]
    if from_database is not None and from_database != source:
        raise InvalidArgument(
            f"--from-database {from_database} does not match backup {manifest['name']}, which "
            f"is a backup of database {source!r}"
        )
    if source != database and from_database is None:
        raise InvalidArgument(
            f"backup {manifest['name']} is a backup of database {source!r}, not of "
            f"{database!r}: to restore it over {database!r}, add --from-database {source}"
        )
