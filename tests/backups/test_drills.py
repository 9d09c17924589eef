"""DR drills: the latest backup restored into scratch, verified, timed and recorded."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from nzila_ops.backups.drills import run_drill
from nzila_ops.models import DrillRecord
from nzila_ops.signals import drill_failed
from tests.backups.helpers import flip_byte, only_manifest
from tests.support import pg

pytestmark = pytest.mark.postgres


def test_a_drill_passes_and_leaves_nothing_behind(ops_settings: Any, seeded_postgres: dict) -> None:
    call_command("backup_database", stdout=StringIO())
    live = connections["default"].settings_dict["NAME"]
    out = StringIO()
    call_command("run_dr_drill", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["result"] == "passed", summary
    record = DrillRecord.objects.get()
    assert record.result == "passed" and 0 < record.rto_seconds < record.rto_target_seconds == 3600
    assert set(record.phase_seconds) == {"fetch", "restore", "verify", "cleanup"}
    assert record.verification["rows"] == sum(t["rows"] for t in only_manifest_tables())
    assert pg.databases_like(f"{live}_") == []


def only_manifest_tables() -> list[dict]:
    from nzila_ops.models import BackupRecord

    return BackupRecord.objects.get().manifest["tables"]


def test_a_drill_over_the_rto_target_fails_loudly(ops_settings: Any, seeded_postgres: dict) -> None:
    call_command("backup_database", stdout=StringIO())
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "RTO_TARGET_SECONDS": 0.001}
    heard: list[dict] = []
    drill_failed.connect(lambda **kw: heard.append(kw), weak=False, dispatch_uid="test-drill")
    try:
        with pytest.raises(CommandError, match=r"drill FAILED: RTO .* exceeds the target"):
            call_command("run_dr_drill", stdout=StringIO())
    finally:
        drill_failed.disconnect(dispatch_uid="test-drill")
    record = DrillRecord.objects.get()
    assert record.result == "failed" and record.verification["matches_manifest"]
    assert heard and heard[0]["component"] == "drill:default" and heard[0]["record"] == record


def test_a_drill_of_a_corrupt_backup_fails_and_is_recorded(
    ops_settings: Any, seeded_postgres: dict, backup_dir: Path
) -> None:
    call_command("backup_database", stdout=StringIO())
    stored = backup_dir / only_manifest(backup_dir)["object"]["key"]
    flip_byte(stored, 100)
    record = run_drill("default")
    assert record.result == "failed" and "checksum" in record.error
    assert record.rto_seconds is None


def test_a_drill_with_no_backups_fails(ops_settings: Any, transactional_db: Any) -> None:
    record = run_drill("default")
    assert record.result == "failed" and "no backups of database 'default'" in record.error
