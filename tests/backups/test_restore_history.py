"""The history of restores and drills survives the restores themselves: each is kept in backup
storage beside the manifests and the rows are rebuilt from there (an audit and the SLA report
need every one), --target restores and failed restores included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

from nzila_ops.backups.drills import run_drill
from nzila_ops.backups.restore import restore_database
from nzila_ops.exceptions import VerificationFailed
from nzila_ops.models import DrillRecord, RestoreRecord
from tests.backups.helpers import flip_byte, only_manifest
from tests.support import pg

pytestmark = pytest.mark.postgres


@pytest.fixture
def backed_up(ops_settings: Any, seeded_postgres: dict, backup_dir: Path) -> Iterator[str]:
    call_command("backup_database", stdout=StringIO())
    live = connections["default"].settings_dict["NAME"]
    yield live
    for leftover in pg.databases_like(f"{live}_"):
        pg.drop_database(leftover)


def history(backup_dir: Path) -> list[dict]:
    return [
        json.loads(path.read_text()) for path in sorted((backup_dir / "_history").rglob("*.json"))
    ]


def test_three_restores_in_a_row_leave_three_records(backed_up: str, backup_dir: Path) -> None:
    for run in range(3):
        restore_database(latest=True, started_by=f"operator {run}")
    records = RestoreRecord.objects.order_by("started_at")
    assert [r.started_by for r in records] == ["operator 0", "operator 1", "operator 2"]
    assert {r.result for r in records} == {"succeeded"}
    assert all(r.previous_database.startswith(f"{backed_up}_pre_restore_") for r in records)
    assert [d["record"]["started_by"] for d in history(backup_dir)] == [
        "operator 0",
        "operator 1",
        "operator 2",
    ]
    # list_backups and retention see manifests only.
    out = StringIO()
    call_command("list_backups", "--json", stdout=out)
    assert len(json.loads(out.getvalue())) == 1


def test_a_target_restore_is_recorded_and_kept_by_a_later_restore(
    backed_up: str, backup_dir: Path
) -> None:
    target = f"{backed_up}_inspect"
    restore_database(latest=True, target=target, started_by="inspecting")
    record = RestoreRecord.objects.get()
    assert record.target == target and record.result == "succeeded"
    assert record.previous_database == "" and "swap" not in record.phase_seconds

    restore_database(latest=True, started_by="for real")
    assert sorted(RestoreRecord.objects.values_list("started_by", flat=True)) == [
        "for real",
        "inspecting",
    ]


def test_drills_and_failed_restores_survive_a_restore(backed_up: str, backup_dir: Path) -> None:
    assert run_drill("default").result == "passed"
    stored = backup_dir / only_manifest(backup_dir)["object"]["key"]
    good = stored.read_bytes()
    flip_byte(stored, 200)
    with pytest.raises(VerificationFailed):
        restore_database(latest=True, started_by="on a corrupt backup")
    stored.write_bytes(good)

    restore_database(latest=True, started_by="good one")

    assert DrillRecord.objects.get().result == "passed"
    results = dict(RestoreRecord.objects.values_list("started_by", "result"))
    assert results == {"on a corrupt backup": "failed", "good one": "succeeded"}


def test_a_lost_database_gets_its_whole_history_back_from_storage(
    backed_up: str, backup_dir: Path
) -> None:
    restore_database(latest=True, started_by="first")
    run_drill("default")
    connections["default"].close()
    pg.drop_database(backed_up)  # the disaster: the database and every row about it

    restore_database(latest=True, started_by="after the disaster")

    assert sorted(RestoreRecord.objects.values_list("started_by", flat=True)) == [
        "after the disaster",
        "first",
    ]
    assert DrillRecord.objects.count() == 1
    keys = set(RestoreRecord.objects.values_list("history_key", flat=True))
    assert keys == {
        path.relative_to(backup_dir).as_posix()
        for path in (backup_dir / "_history" / "restores").glob("*.json")
    }
