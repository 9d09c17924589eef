"""A backup restores over its own database only, unless the operator names the database it
came from (--from-database): restore_database and run_dr_drill, on real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from io import StringIO
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from nzila_ops.models import DrillRecord
from tests.backups.helpers import APP_TABLES
from tests.support import pg

pytestmark = pytest.mark.postgres


@pytest.fixture
def other(settings: Any, transactional_db: Any) -> Iterator[str]:
    """A second PostgreSQL alias, ``other``, whose database holds rows of its own."""
    name = f"nzila_other_{uuid.uuid4().hex[:8]}"
    pg.create_database(name)
    with psycopg.connect(pg.conninfo(name), autocommit=True) as conn:
        conn.execute("CREATE TABLE marker (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO marker VALUES (1, 'B''s own data'), (2, 'keep me')")
    settings.DATABASES["other"] = {**connections["default"].settings_dict, "NAME": name}
    yield name
    connections["other"].close()
    del settings.DATABASES["other"]
    del connections["other"]
    for database in pg.databases_like(name):
        pg.drop_database(database)
    live = connections["default"].settings_dict["NAME"]
    for leftover in pg.databases_like(f"{live}_"):
        pg.drop_database(leftover)


@pytest.fixture
def backup_of_default(ops_settings: Any, seeded_postgres: dict) -> str:
    out = StringIO()
    call_command("backup_database", "--json", stdout=out)
    return json.loads(out.getvalue())["name"]


def refused(command: str, *args: str) -> CommandError:
    with pytest.raises(CommandError) as caught:
        call_command(command, *args, stdout=StringIO())
    message = str(caught.value)
    assert caught.value.returncode == 2 and "\n" not in message, message
    return caught.value


def test_a_backup_of_another_database_is_refused_and_changes_nothing(
    backup_of_default: str, other: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = pg.snapshot(other, ["marker"])
    error = refused("restore_database", "--backup", backup_of_default, "--database", "other")
    assert str(error) == (
        f"backup {backup_of_default} is a backup of database 'default', not of 'other': to "
        "restore it over 'other', add --from-database default"
    )
    error = refused(
        "restore_database", "--backup", backup_of_default, "--database", "other", "--no-input"
    )
    assert "is a backup of database 'default', not of 'other'" in str(error)
    # The interactive prompt is never reached: nothing to confirm.
    monkeypatch.setattr("sys.stdin", StringIO("RESTORE\n"))
    out = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "restore_database", "--backup", backup_of_default, "--database", "other", stdout=out
        )
    assert "Type RESTORE" not in out.getvalue()
    # The flag must name the database the backup came from.
    error = refused(
        "restore_database",
        "--backup",
        backup_of_default,
        "--database",
        "other",
        "--from-database",
        "sqlite",
        "--no-input",
    )
    assert str(error) == (
        f"--from-database sqlite does not match backup {backup_of_default}, which is a backup "
        "of database 'default'"
    )
    assert pg.snapshot(other, ["marker"]) == before
    assert pg.databases_like(other) == [other]


def test_with_from_database_the_backup_replaces_the_other_database(
    backup_of_default: str, other: str
) -> None:
    live = connections["default"].settings_dict["NAME"]
    contents = pg.snapshot(live, APP_TABLES)
    marker = pg.snapshot(other, ["marker"])
    out = StringIO()
    call_command(
        "restore_database",
        "--backup",
        backup_of_default,
        "--database",
        "other",
        "--from-database",
        "default",
        "--no-input",
        stdout=out,
    )
    assert f"restored {backup_of_default} into {other}" in out.getvalue()
    assert pg.snapshot(other, APP_TABLES) == contents
    kept = [name for name in pg.databases_like(f"{other}_pre_restore_")]
    assert len(kept) == 1 and pg.snapshot(kept[0], ["marker"]) == marker
    assert pg.snapshot(live, APP_TABLES) == contents  # the source is untouched


def test_latest_with_from_database_takes_the_newest_backup_of_that_database(
    backup_of_default: str, other: str
) -> None:
    out = StringIO()
    call_command(
        "restore_database",
        "--latest",
        "--database",
        "other",
        "--from-database",
        "default",
        "--no-input",
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["backup_name"] == backup_of_default


def test_a_drill_of_another_databases_backup_needs_from_database(
    backup_of_default: str, other: str
) -> None:
    before = pg.snapshot(other, ["marker"])
    error = refused("run_dr_drill", "--database", "other", "--backup", backup_of_default)
    assert "is a backup of database 'default', not of 'other'" in str(error)
    assert DrillRecord.objects.count() == 0  # a wrong argument, not a failed drill

    out = StringIO()
    call_command(
        "run_dr_drill",
        "--database",
        "other",
        "--backup",
        backup_of_default,
        "--from-database",
        "default",
        "--json",
        stdout=out,
    )
    summary = json.loads(out.getvalue())
    assert summary["result"] == "passed" and summary["backup"] == backup_of_default
    assert pg.snapshot(other, ["marker"]) == before
    assert pg.databases_like(other) == [other]
