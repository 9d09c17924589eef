"""What an operator sees on stderr when a command fails: one clear line, the documented exit
status (1 for a failed job, 2 for a wrong argument or setting), on any host."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command, get_commands

from tests.support.host import REPO, example_env, manage

# Every command nzila_ops ships; they share nzila_ops.management.base.OpsCommand.
OPS_COMMANDS = sorted(name for name, app in get_commands().items() if app == "nzila_ops")
# Arguments a command needs before it gets as far as the system checks.
ARGUMENTS = {"restore_database": ["--latest"]}
LZ4 = "NZILA_OPS['COMPRESSION'] is 'lz4'; use one of ('zstd', 'gzip')"


def host_env(tmp_path: Path, age_key: tuple[Path, str], **variables: str) -> dict[str, str]:
    """The example project on a SQLite file, backing up to a directory that does not exist."""
    return example_env(
        PYTHONPATH=f"{REPO}:{REPO / 'example_project'}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'host.sqlite3'}",
        NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path / 'not-mounted'}",
        NZILA_OPS_AGE_RECIPIENTS=age_key[1],
        **variables,
    )


def test_a_failed_command_prints_one_line_on_a_host_without_logging(
    tmp_path: Path, age_key: tuple[Path, str]
) -> None:
    env = host_env(tmp_path, age_key, DJANGO_SETTINGS_MODULE="tests.support.unlogged_settings")
    result = manage(env, "backup_database")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CommandError: backup storage directory ")
    assert "not-mounted" in lines[0]


def test_a_host_that_configures_logging_still_gets_the_records(
    tmp_path: Path, age_key: tuple[Path, str]
) -> None:
    # The example project sends the nzila_ops logger to the console (WARNING and up).
    result = manage(host_env(tmp_path, age_key), "backup_database")
    assert result.returncode == 1
    assert "backup of default failed: backup storage directory " in result.stderr
    assert result.stderr.splitlines()[-1].startswith("CommandError: backup storage directory ")


def test_a_misconfiguration_exits_2_with_a_one_line_summary_first(
    tmp_path: Path, age_key: tuple[Path, str]
) -> None:
    env = host_env(tmp_path, age_key, NZILA_OPS_COMPRESSION="lz4")
    result = manage(env, "list_backups")
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"CommandError: misconfigured (run manage.py check): {LZ4} [nzila_ops.E001]"
    ]
    assert result.stdout == ""


@pytest.mark.django_db
@pytest.mark.parametrize("command", OPS_COMMANDS)
def test_every_command_refuses_a_misconfiguration_with_exit_2(settings: Any, command: str) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "COMPRESSION": "lz4"}
    with pytest.raises(CommandError) as raised:
        call_command(
            command, *ARGUMENTS.get(command, []), skip_checks=False, stdout=StringIO(),
            stderr=StringIO(),
        )  # fmt: skip
    assert raised.value.returncode == 2
    assert str(raised.value) == f"misconfigured (run manage.py check): {LZ4} [nzila_ops.E001]"


@pytest.mark.django_db
def test_several_errors_are_counted_in_the_summary_and_listed_after_it(settings: Any) -> None:
    settings.NZILA_OPS = {"STORAGES": {}, "AGE_RECIPIENTS": ["not-a-key"]}
    with pytest.raises(CommandError) as raised:
        call_command("list_backups", skip_checks=False, stdout=StringIO(), stderr=StringIO())
    first, *rest = str(raised.value).splitlines()
    assert raised.value.returncode == 2
    assert first.startswith("misconfigured (run manage.py check): no backup storage named ")
    assert first.endswith("[nzila_ops.E002] and 1 more error:")
    assert any("[nzila_ops.E003]" in line for line in rest)
    assert any(line.strip().startswith("hint: Set NZILA_OPS['STORAGES']") for line in rest)
