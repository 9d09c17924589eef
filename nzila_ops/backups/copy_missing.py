"""``copy_missing``: catch a copy target up with BACKUP_STORAGE (``manage.py copy_backups``).

What a target lacks is judged by its own manifests (storage is the truth), not by the catalog;
what the target's retention policy (STORAGE_RETENTION) would delete at its next run is not copied.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from nzila_ops.backups.copies import (
    CopyOutcome,
    catalog_write,
    copy_backup,
    copy_targets,
    report_copy_failure,
    report_recovery,
)
from nzila_ops.backups.engines import check_alias
from nzila_ops.backups.manifest import MANIFEST_SUFFIX, iter_manifests
from nzila_ops.backups.retention import BackupInfo, Policy, plan_retention
from nzila_ops.backups.storages import BackupStorage, get_storage
from nzila_ops.exceptions import OpsError
from nzila_ops.models import BackupCopy, BackupRecord

logger = logging.getLogger("nzila_ops.backups")


def names_on(storage: BackupStorage, database: str | None = None) -> set[str]:
    """The backups a storage holds, by their manifests (one listing, nothing read)."""
    prefix = f"{database}/" if database else ""
    return {
        key.rsplit("/", 1)[-1][: -len(MANIFEST_SUFFIX)]
        for key in storage.list_keys(prefix)
        if key.endswith(MANIFEST_SUFFIX)
    }


def _kept_by(manifests: Iterable[dict[str, Any]], policy: Policy, now: datetime) -> set[str]:
    """The backups a storage with ``policy`` keeps, if it held all of ``manifests``: catching up
    must not copy what that storage's retention would delete at its next run."""
    by_alias: dict[str, list[BackupInfo]] = {}
    for m in manifests:
        info = BackupInfo(m["name"], datetime.fromisoformat(m["finished_at"]))
        by_alias.setdefault(m["database_alias"], []).append(info)
    return {
        decision.name
        for backups in by_alias.values()
        for decision in plan_retention(backups, now, policy)
        if decision.keep
    }


def _unsettled(name: str, storage: str) -> bool:
    """The catalog has a row of this copy that does not say it is in place (or being made)."""
    return (
        BackupCopy.objects.filter(backup__name=name, storage_name=storage)
        .exclude(status__in=[BackupCopy.Status.SUCCEEDED, BackupCopy.Status.COPYING])
        .exists()
    )


def _settle_rows(name: str, storage: str, status: str, error: str = "") -> None:
    """Rows that say otherwise than the target: present there (succeeded), or not kept by its
    retention policy (deleted; a failed copy of it is no longer missing)."""
    stale = BackupCopy.objects.filter(backup__name=name, storage_name=storage).exclude(
        status__in=[status, BackupCopy.Status.COPYING]
    )
    if status == BackupCopy.Status.DELETED:
        stale = stale.exclude(status=BackupCopy.Status.SUCCEEDED)
    stale.update(status=status, error=error, updated_at=timezone.now())


def copy_missing(
    storage: str | None = None, database: str | None = None, dry_run: bool = False
) -> list[CopyOutcome]:
    """Copy every backup in BACKUP_STORAGE that a copy target lacks (after an outage of the
    target, a copy that failed past its retries, a target added to COPY_STORAGES), oldest
    first; what the target's retention policy would not keep is left out. One target failing
    does not stop the others; each failure is an outcome ``failed`` with its reason."""
    targets = copy_targets(storage)
    if database is not None:
        check_alias(database)
    source = get_storage()
    primary = sorted(iter_manifests(source, database), key=lambda m: m["finished_at"])
    now = timezone.now()
    outcomes: list[CopyOutcome] = []
    for name in targets:
        target = get_storage(name)
        try:
            held = names_on(target, database)
        except OpsError as exc:
            outcomes.append(CopyOutcome("", name, "failed", error=str(exc)))
            continue
        keep = _kept_by(primary, Policy.from_settings(name), now)
        for manifest in primary:
            backup = manifest["name"]
            if backup in held:
                # A listed manifest is not a verified copy: a row that does not say so already
                # goes through copy_backup, which checks the object (size, SHA-256) or copies.
                if not dry_run and catalog_write(
                    "a copy", lambda b=backup, n=name: _unsettled(b, n), False
                ):
                    try:
                        outcomes.append(copy_backup(backup, name, source, target))
                    except OpsError as exc:
                        outcomes.append(CopyOutcome(backup, name, "failed", error=str(exc)))
                continue
            if backup not in keep:
                why = f"not kept by the retention policy of {name}"
                if not dry_run:
                    catalog_write(
                        "a copy", lambda b=backup, n=name, w=why: _settle_rows(b, n, "deleted", w)
                    )
                continue
            if dry_run:
                size = manifest["object"]["stored_size"]
                outcomes.append(CopyOutcome(backup, name, "would copy", size))
                continue
            try:
                outcomes.append(copy_backup(backup, name, source, target))
            except OpsError as exc:
                outcomes.append(CopyOutcome(backup, name, "failed", error=str(exc)))
    if not dry_run:
        for alias in sorted({m["database_alias"] for m in primary}):
            catalog_write(
                "the recovery", lambda alias=alias: report_recovery(alias, timezone.now())
            )
    return outcomes


def _newest_backups() -> list[str]:
    """The newest succeeded backup of each database in the catalog: what a target that could
    not even be listed is reported against."""
    names = []
    for alias in BackupRecord.objects.values_list("database_alias", flat=True).distinct():
        newest = (
            BackupRecord.objects.filter(database_alias=alias, status="succeeded", deleted_at=None)
            .order_by("-started_at")
            .first()
        )
        if newest is not None:
            names.append(newest.name)
    return names


def catch_up() -> dict[str, list[str]]:
    """``copy_missing`` for every copy target, each failure reported as a copy failure (the
    incident ``copy:<alias>``, as a copy out of retries): the scheduled catch-up
    (COPY_CATCH_UP_CRON) of copies whose task was never queued or ran out of retries.
    Returns the backups copied and one line per failure."""
    outcomes = copy_missing()
    failed = []
    for outcome in outcomes:
        if outcome.result != "failed":
            continue
        failed.append(f"{outcome.backup or '(all)'} -> {outcome.storage}: {outcome.error}")
        logger.error("copy catch-up: %s", failed[-1])
        prefix = f"the copy of backup {outcome.backup} to storage {outcome.storage!r} failed: "
        reason = outcome.error.removeprefix(prefix)
        names = [outcome.backup] if outcome.backup else catalog_write("", _newest_backups, [])
        for name in names:
            attempts = catalog_write(
                "the failure",
                lambda n=name, s=outcome.storage: (
                    BackupCopy.objects.filter(backup__name=n, storage_name=s)
                    .values_list("attempts", flat=True)
                    .first()
                ),
            )
            report_copy_failure(name, outcome.storage, reason, attempts or 1)
    copied = [o.backup for o in outcomes if o.result in ("copied", "present")]
    return {"copied": copied, "failed": failed}
