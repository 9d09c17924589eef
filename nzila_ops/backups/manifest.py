"""Manifests: the JSON document stored beside each backup object.

Storage is the source of truth. A backup exists only once its manifest is written, and the
manifest is written last, so an object without one (a crash mid-upload) is never listed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
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


def manifest_key(alias: str, name: str) -> str:
    return f"{alias}/{name}{MANIFEST_SUFFIX}"


def write_manifest(storage: BackupStorage, manifest: dict[str, Any]) -> None:
    key = manifest_key(manifest["database_alias"], manifest["name"])
    storage.write_bytes(key, json.dumps(manifest, indent=2, sort_keys=True).encode())


def _parse(key: str, data: bytes) -> dict[str, Any] | None:
    try:
        manifest = json.loads(data)
    except ValueError:
        logger.warning("skipping unreadable manifest %s", key)
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        logger.warning("skipping %s: not an nzila_ops manifest", key)
        return None
    return manifest


def iter_manifests(storage: BackupStorage, alias: str | None = None) -> Iterator[dict[str, Any]]:
    """Every backup in storage (optionally of one database alias), newest first."""
    prefix = f"{alias}/" if alias else ""
    keys = [key for key in storage.list_keys(prefix) if key.endswith(MANIFEST_SUFFIX)]
    manifests = []
    for key in keys:
        try:
            manifest = _parse(key, storage.read_bytes(key))
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


def find_manifest(storage: BackupStorage, name: str) -> dict[str, Any]:
    """The manifest of the backup called ``name``; BackupNotFound if storage has none."""
    check_backup_name(name)
    suffix = f"/{name}{MANIFEST_SUFFIX}"
    for key in storage.list_keys():
        if key.endswith(suffix):
            manifest = _parse(key, storage.read_bytes(key))
            if manifest is not None:
                return manifest
    raise BackupNotFound(f"no backup named {name!r} in {storage.describe()}")
