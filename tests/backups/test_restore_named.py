"""A backup named on the command line is read by its manifest's key, found from the name
itself, not by listing the whole storage: restore_database --backup, verify_backup NAME and
run_dr_drill --backup. A wrong name gets one line and the documented exit status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops.backups.manifest import alias_of
from nzila_ops.backups.storages.filesystem import FileSystemStorage
from nzila_ops.exceptions import InvalidArgument
from tests.support import pg

pytestmark = pytest.mark.postgres


class CountingStorage(FileSystemStorage):
    """The filesystem storage, noting every listing and every small read (a manifest's)."""

    calls: ClassVar[list[tuple[str, str]]] = []

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        CountingStorage.calls.append(("list", prefix))
        return super().list_keys(prefix)

    def read_bytes(self, key: str) -> bytes:
        CountingStorage.calls.append(("read", key))
        return super().read_bytes(key)


@pytest.fixture
def named(ops_settings: Any, seeded_postgres: dict, backup_dir: Path) -> Iterator[str]:
    """Two backups of default and one of sqlite in storage; then storage is watched."""
    names = []
    for database in ("default", "default", "sqlite"):
        out = StringIO()
        call_command("backup_database", "--json", "--database", database, stdout=out)
        names.append(json.loads(out.getvalue())["name"])
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {
            "default": {
                "BACKEND": f"{__name__}.CountingStorage",
                "OPTIONS": {"location": str(backup_dir)},
            }
        },
    }
    CountingStorage.calls.clear()
    yield names[0]
    live = connections["default"].settings_dict["NAME"]
    for leftover in pg.databases_like(f"{live}_"):
        pg.drop_database(leftover)


@pytest.mark.django_db(transaction=True, databases=["default", "sqlite"])
def test_verify_restore_and_drill_read_one_manifest_and_list_nothing(named: str) -> None:
    key = f"default/{named}.manifest.json"
    call_command("verify_backup", named, stdout=StringIO())
    assert CountingStorage.calls == [("read", key)]

    CountingStorage.calls.clear()
    live = connections["default"].settings_dict["NAME"]
    call_command(
        "restore_database", "--backup", named, "--target", f"{live}_t", "--no-input",
        stdout=StringIO(),
    )  # fmt: skip
    assert CountingStorage.calls == [("read", key)]

    CountingStorage.calls.clear()
    call_command("run_dr_drill", "--backup", named, stdout=StringIO())
    assert CountingStorage.calls == [("read", key)]


@pytest.mark.django_db(transaction=True, databases=["default", "sqlite"])
def test_a_name_not_in_storage_is_one_line_and_exit_1(named: str) -> None:
    ghost = "default-20200101T000000Z-manual-0000"
    for command, args in [
        ("verify_backup", [ghost]),
        ("restore_database", ["--backup", ghost, "--no-input"]),
        ("run_dr_drill", ["--backup", ghost]),
    ]:
        with pytest.raises(CommandError) as caught:
            call_command(command, *args, stdout=StringIO())
        assert caught.value.returncode == 1, command
        assert str(caught.value).startswith(f"no backup named '{ghost}' in "), command
    from nzila_ops.models import DrillRecord

    assert DrillRecord.objects.count() == 0  # a typo is not a failed drill


@pytest.mark.django_db(transaction=True, databases=["default", "sqlite"])
def test_a_name_not_shaped_like_a_backup_name_is_a_wrong_argument(named: str) -> None:
    for command, args in [
        ("verify_backup", ["nightly"]),
        ("restore_database", ["--backup", "nightly", "--no-input"]),
        ("run_dr_drill", ["--backup", "nightly"]),
    ]:
        with pytest.raises(CommandError) as caught:
            call_command(command, *args, stdout=StringIO())
        assert caught.value.returncode == 2, command
        assert str(caught.value) == (
            "invalid backup name 'nightly': names look like <alias>-<UTC time>-<type>-<4 hex>, "
            "as shown by list_backups"
        )
    assert CountingStorage.calls == []


def test_the_alias_is_read_from_the_name() -> None:
    assert alias_of("default-20261127T101500Z-hourly-4f2a") == "default"
    assert alias_of("eu-west-replica-20261127T101500Z-daily-00ff") == "eu-west-replica"
    with pytest.raises(InvalidArgument):
        alias_of("-20261127T101500Z-hourly-4f2a")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=80))
def test_any_name_is_refused_in_one_line_never_a_crash(ops_settings: Any, name: str) -> None:
    try:
        call_command("verify_backup", name=name, stdout=StringIO())
    except CommandError as exc:
        if not name:
            assert "either a backup NAME or --latest" in str(exc)
        else:
            assert exc.returncode in (1, 2) and "\n" not in str(exc)
            assert str(exc).startswith(("invalid backup name", "no backup named"))
    else:
        pytest.fail(f"{name!r} verified")
