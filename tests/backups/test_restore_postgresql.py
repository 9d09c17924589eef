"""restore_database on real PostgreSQL: from storage alone, exact, and never worse."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from nzila_ops.backups.restore import restore_database
from nzila_ops.models import BackupRecord, RestoreRecord
from tests.backups.helpers import APP_TABLES
from tests.support import pg

pytestmark = pytest.mark.postgres
TABLES = [*APP_TABLES, "auth_user"]


def test_database_dropped_then_restored_with_every_row(
    ops_settings: Any, seeded_postgres: dict, live_db: str
) -> None:
    call_command("backup_database", stdout=StringIO())
    before = pg.snapshot(live_db, TABLES)
    connections["default"].close()
    pg.drop_database(live_db)

    out = StringIO()
    call_command("restore_database", "--latest", "--no-input", stdout=out)

    assert pg.snapshot(live_db, TABLES) == before
    assert "restored default-" in out.getvalue() and "verified" in out.getvalue()
    restore = RestoreRecord.objects.get()
    assert restore.result == "succeeded" and restore.previous_database == ""
    assert set(restore.phase_seconds) == {"fetch", "restore", "verify", "swap"}
    assert restore.verification["matches_manifest"] is True
    # The catalog in the restored database was rebuilt from storage.
    assert BackupRecord.objects.get().status == "succeeded"
    assert pg.databases_like(f"{live_db}_nzila_scratch_") == []


def test_restore_keeps_the_previous_database_and_later_backups_stay_listed(
    ops_settings: Any, seeded_postgres: dict, live_db: str
) -> None:
    first = StringIO()
    call_command("backup_database", "--json", stdout=first)
    import json

    first_name = json.loads(first.getvalue())["name"]
    before = pg.snapshot(live_db, TABLES)
    call_command("seed_demo", vehicles=400, stdout=StringIO())  # changes after the backup
    changed = pg.snapshot(live_db, TABLES)
    call_command("backup_database", stdout=StringIO())
    later_name = BackupRecord.objects.exclude(name=first_name).get().name

    outcome = restore_database(backup=first_name, started_by="test")

    assert pg.snapshot(live_db, TABLES) == before
    assert outcome.previous_database and outcome.previous_database.startswith(
        f"{live_db}_pre_restore_"
    )
    assert pg.snapshot(outcome.previous_database, TABLES) == changed
    names = set(BackupRecord.objects.values_list("name", flat=True))
    assert names == {first_name, later_name}
    assert set(BackupRecord.objects.values_list("status", flat=True)) == {"succeeded"}

    out = StringIO()
    call_command("pre_restore_databases", stdout=out)
    assert outcome.previous_database in out.getvalue()
    call_command("pre_restore_databases", "--drop", outcome.previous_database, stdout=StringIO())
    assert pg.databases_like(f"{live_db}_pre_restore_") == []


def test_target_restores_beside_the_live_database_and_stops(
    ops_settings: Any, seeded_postgres: dict, live_db: str
) -> None:
    call_command("backup_database", stdout=StringIO())
    before = pg.snapshot(live_db, TABLES)
    call_command("seed_demo", vehicles=350, stdout=StringIO())
    live_now = pg.snapshot(live_db, TABLES)
    target = f"{live_db}_inspect"

    outcome = restore_database(latest=True, target=target)

    assert not outcome.swapped and outcome.target == target
    assert pg.snapshot(target, TABLES) == before
    with pg.admin() as conn:
        comment = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [target],
        ).fetchone()[0]
    assert comment == f"restored by nzila_ops from {outcome.backup_name}"
    assert pg.snapshot(live_db, TABLES) == live_now
    assert "swap" not in outcome.phase_seconds


def test_restore_from_s3_alone(
    ops_settings: Any, seeded_postgres: dict, live_db: str, s3_bucket: str
) -> None:
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {"default": f"s3://{s3_bucket}/prod"},
    }
    call_command("backup_database", stdout=StringIO())
    before = pg.snapshot(live_db, TABLES)
    connections["default"].close()
    pg.drop_database(live_db)
    pg.create_database(live_db)  # empty, never migrated

    call_command("restore_database", "--latest", "--no-input", stdout=StringIO())

    assert pg.snapshot(live_db, TABLES) == before
    previous = RestoreRecord.objects.get().previous_database
    assert previous.startswith(f"{live_db}_pre_restore_")


def test_kept_databases_are_dropped_only_when_asked_or_past_their_age(
    ops_settings: Any, seeded_postgres: dict, live_db: str
) -> None:
    from django.core.management import CommandError

    call_command("backup_database", stdout=StringIO())
    kept = restore_database(latest=True).previous_database
    assert kept

    with pytest.raises(CommandError, match="is not a database kept by a restore") as caught:
        call_command("pre_restore_databases", "--drop", live_db)
    assert caught.value.returncode == 2 and live_db in pg.databases_like(live_db)

    out = StringIO()
    call_command("pre_restore_databases", "--prune", stdout=out)  # 7 days: too young
    assert out.getvalue().strip() == "dropped 0: none" and kept in pg.databases_like(kept)
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "PRE_RESTORE_KEEP_DAYS": 0}
    out = StringIO()
    call_command("pre_restore_databases", "--prune", stdout=out)
    assert out.getvalue().strip() == f"dropped 1: {kept}" and not pg.databases_like(kept)


def test_the_prompt_says_what_happens_to_the_live_database(
    ops_settings: Any, seeded_postgres: dict, live_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    call_command("backup_database", stdout=StringIO())
    name = BackupRecord.objects.get().name

    def prompt(*args: str) -> str:
        monkeypatch.setattr("sys.stdin", StringIO("no\n"))
        out = StringIO()
        with pytest.raises(CommandError, match="not confirmed, nothing was changed"):
            call_command("restore_database", *args, stdout=out)
        return out.getvalue().split("\n")[0]

    assert prompt("--latest") == (
        f"Restore backup {name} of database 'default' ({ops_finished(name)}) into {live_db}, "
        f"replacing it (the current {live_db} is kept as {live_db}_pre_restore_<time>)."
    )
    assert prompt("--latest", "--target", f"{live_db}_x") == (
        f"Restore backup {name} of database 'default' ({ops_finished(name)}) into the new "
        f"database {live_db}_x; {live_db} is not touched."
    )
    connections["default"].close()
    pg.drop_database(live_db)
    assert prompt("--latest") == (
        f"Restore backup {name} of database 'default' ({ops_finished(name)}) into {live_db}: "
        f"{live_db} does not exist, it will be created (nothing to keep)."
    )
    assert pg.databases_like(live_db) == []
    call_command("restore_database", "--latest", "--no-input", stdout=StringIO())
    assert pg.databases_like(f"{live_db}_pre_restore_") == []  # nothing was there to keep


def ops_finished(name: str) -> str:
    from datetime import datetime

    from nzila_ops.backups.manifest import find_manifest
    from nzila_ops.backups.storages import get_storage
    from nzila_ops.formats import local_time

    finished_at = datetime.fromisoformat(find_manifest(get_storage(), name)["finished_at"])
    return f"taken {local_time(finished_at)}"  # the site's zone, named, as the admin shows it


def test_two_restores_in_the_same_second_keep_both_previous_databases(
    ops_settings: Any, seeded_postgres: dict, live_db: str
) -> None:
    import time_machine
    from django.utils import timezone

    call_command("backup_database", stdout=StringIO())
    with time_machine.travel(timezone.now(), tick=False):  # the clock stands still
        first = restore_database(latest=True).previous_database
        second = restore_database(latest=True).previous_database
    assert first and second and first != second
    assert sorted(pg.databases_like(f"{live_db}_pre_restore_")) == sorted([first, second])
