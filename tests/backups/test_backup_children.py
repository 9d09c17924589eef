"""A backup compresses and encrypts in ``zstd`` and ``age`` child processes: what they write
is recovered by hand, a child that dies mid-stream fails the backup in one line and leaves
nothing behind, and without the age CLI the backup encrypts in this process instead."""

from __future__ import annotations

import io
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from nzila_ops.backups.catalog import list_backups
from nzila_ops.backups.restore import restore_database
from nzila_ops.backups.timing import StageTimes
from nzila_ops.backups.tool_chain import age_tool, stream_through_children
from nzila_ops.exceptions import OpsError
from nzila_ops.models import BackupRecord
from tests.backups.helpers import only_manifest, recover_by_hand, stored_files
from tests.support import pg
from tests.support.procs import children
from tests.support.tools import pg_restore_list

pytestmark = pytest.mark.postgres

PIPELINE_TOOLS = {"pg_dump", "zstd", "age"}


def fake_tool(bin_dir: Path, name: str, body: str) -> None:
    """A stand-in for ``name`` on PATH that passes some data through, then fails its way."""
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text(f"#!/bin/sh\nhead -c 300000\n{body}\n")
    tool.chmod(0o755)


def backup_fails() -> str:
    with pytest.raises(CommandError) as caught:
        call_command("backup_database")
    message = str(caught.value)
    assert "\n" not in message and caught.value.returncode == 1, message
    return message


def assert_nothing_left(backup_dir: Path) -> None:
    assert list_backups() == [] and stored_files(backup_dir) == []
    record = BackupRecord.objects.get()
    assert record.status == "failed" and record.error
    # No child outlives the backup, not even as a zombie.
    assert [c.comm for c in children() if c.comm in PIPELINE_TOOLS] == []


def test_the_children_write_a_backup_that_age_zstd_and_pg_restore_read(
    ops_settings: Any, seeded_postgres: dict[str, int], backup_dir: Path, age_key: Any
) -> None:
    call_command("backup_database")
    manifest = only_manifest(backup_dir)
    assert manifest["compression"]["algorithm"] == "zstd"
    stored = backup_dir / manifest["object"]["key"]
    assert stored.stat().st_size == manifest["object"]["stored_size"]
    dump = recover_by_hand(backup_dir, manifest, age_key[0])
    assert dump.stat().st_size == manifest["object"]["raw_size"]
    assert "TABLE DATA public payments_payment" in pg_restore_list(dump)
    assert [c.comm for c in children() if c.comm in PIPELINE_TOOLS] == []


@pytest.mark.parametrize(
    ("tool", "body", "message"),
    [
        pytest.param(
            "age",
            'echo "age: error: write failed: no space left" >&2\nexit 1',
            "the age encryption process failed: write failed: no space left",
            id="age-dying",
        ),
        # The OOM killer's way: no message, signal 9. age then sees a short input and succeeds.
        pytest.param(
            "zstd",
            "kill -9 $$",
            "the zstd compression process failed: killed by signal 9 (SIGKILL)",
            id="zstd-killed",
        ),
    ],
)
def test_a_child_dying_mid_stream_fails_the_backup_in_one_line(
    ops_settings: Any,
    seeded_postgres: dict[str, int],
    backup_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tool: str,
    body: str,
    message: str,
) -> None:
    fake_tool(tmp_path / "bin", tool, body)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert backup_fails() == message
    assert_nothing_left(backup_dir)


@pytest.mark.parametrize("tool", ["zstd", "age"])
def test_a_child_that_cannot_start_fails_the_backup_in_one_line(
    ops_settings: Any,
    seeded_postgres: dict[str, int],
    backup_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tool: str,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / tool).write_text("#!/nonexistent/interpreter\n")  # the kernel refuses it
    (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert backup_fails() == f"cannot start {tool}: No such file or directory"
    assert_nothing_left(backup_dir)


def test_a_first_child_that_stops_reading_early_fails_the_backup_in_one_line(
    ops_settings: Any,
    seeded_postgres: dict[str, int],
    backup_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # More dump than the pipe into zstd holds (1 MiB), so its early exit breaks the feed.
    pg.add_incompressible_rows(3)
    fake_tool(tmp_path / "bin", "zstd", "head -c 1000 >/dev/null\nexit 0")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert backup_fails() == "the zstd process stopped reading the dump"
    assert_nothing_left(backup_dir)


@pytest.mark.skipif(shutil.which("age") is None, reason="needs the age CLI")
def test_age_refusing_a_recipient_names_the_cause_not_its_closing_boilerplate() -> None:
    # The real age ends every error with "age: report unexpected or unhelpful errors at ...".
    with pytest.raises(OpsError) as caught:
        stream_through_children(
            io.BytesIO(b"dump" * 50_000),
            io.BytesIO(),
            [age_tool(["age1malformed"])],  # type: ignore[list-item]
            None,
            lambda count: None,
            StageTimes(),
        )
    message = str(caught.value)
    assert message.startswith(
        'the age encryption process failed: malformed recipient "age1malformed"'
    ), message
    assert "report" not in message and "\n" not in message
    assert [c.comm for c in children() if c.comm in PIPELINE_TOOLS] == []


def test_without_the_age_cli_the_backup_encrypts_in_process(
    ops_settings: Any,
    seeded_postgres: dict[str, int],
    backup_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    age_key: Any,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("zstd", "pg_dump", "pg_restore", "psql"):
        (bin_dir / tool).symlink_to(shutil.which(tool))  # type: ignore[arg-type]
    age = shutil.which("age")
    monkeypatch.setenv("PATH", str(bin_dir))
    with caplog.at_level(logging.WARNING, logger="nzila_ops.backups"):
        call_command("backup_database")
    assert "the age CLI is not installed: encrypting in this process" in caplog.text
    manifest = only_manifest(backup_dir)
    assert manifest["encryption"]["format"] == "age-v1" and "encrypt" in manifest["stage_seconds"]
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{Path(age).parent}")  # type: ignore[arg-type]
    assert "TABLE DATA public deals_deal" in pg_restore_list(
        recover_by_hand(backup_dir, manifest, age_key[0])
    )
    name = f"{connections['default'].settings_dict['NAME']}_noage"
    try:
        outcome = restore_database(latest=True, target=name)
        assert outcome.verification and outcome.target == name
    finally:
        pg.drop_database(name)


def test_a_restore_with_a_zstd_that_cannot_start_fetches_in_this_process(
    ops_settings: Any,
    seeded_postgres: dict[str, int],
    backup_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    call_command("backup_database")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "zstd").write_text("#!/nonexistent/interpreter\n")  # the kernel refuses it
    (bin_dir / "zstd").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    name = f"{connections['default'].settings_dict['NAME']}_nozstd"
    try:
        outcome = restore_database(latest=True, target=name)
        assert outcome.verification and outcome.target == name
        source = connections["default"].settings_dict["NAME"]
        assert pg.snapshot(name, ["deals_deal"]) == pg.snapshot(source, ["deals_deal"])
    finally:
        pg.drop_database(name)
    assert [c.comm for c in children() if c.comm in PIPELINE_TOOLS] == []
    assert all(child.state != "Z" for child in children())
