"""The catalog answers for the storage as it is configured now.

Pointing STORAGES["default"] at another location (same storage name) must not leave the old
location's backups counted as good: list_backups, the backup-freshness check and the RPO watch
all say what the configured storage holds, and say it again once the setting points back.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from nzila_ops.backups.rpo import watch_rpo
from nzila_ops.backups.service import run_backup
from nzila_ops.health.base import Status
from nzila_ops.health.registry import get_checks

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "sqlite"])


def point_storage_at(settings: Any, directory: Path) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "STORAGES": {"default": f"file://{directory}"}}


def listed() -> str:
    out = StringIO()
    call_command("list_backups", stdout=out)
    return out.getvalue()


def freshness() -> tuple[Status, str]:
    # Run in this thread (not the runner's pool, whose connections would outlive the test).
    result = next(c for c in get_checks() if c.name == "backup_freshness_sqlite").run()
    return result.status, result.reason


def test_repointed_storage_is_what_list_freshness_and_rpo_report(
    ops_settings: Any, seeded_sqlite: dict[str, int], backup_dir: Path, tmp_path: Path
) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "BACKUP_DATABASES": ["sqlite"]}
    backup_dir.mkdir(exist_ok=True)
    record = run_backup("sqlite", "manual")
    assert record.name in listed()
    assert freshness()[0] is Status.OK
    assert watch_rpo()[0].breached is False

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    point_storage_at(ops_settings, empty)
    assert listed().strip() == "no backups in storage"
    status, reason = freshness()
    assert status is Status.FAILING
    assert f"no successful backup of 'sqlite' in file://{empty}" in reason
    (rpo,) = watch_rpo()
    assert rpo.breached is True and rpo.changed is True
    assert rpo.describe() == f"database 'sqlite' has no successful backup in file://{empty}"

    point_storage_at(ops_settings, backup_dir)
    assert record.name in listed()
    assert freshness()[0] is Status.OK
    (rpo,) = watch_rpo()
    assert rpo.breached is False and rpo.changed is True
    assert rpo.newest_backup == record.name
