"""A restore killed with SIGKILL leaves its decrypted dump behind (no code runs on SIGKILL); the
next restore removes it. The plaintext is only ever in the configured private directory."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import pg
from tests.support.host import MANAGE_PY, manage

pytestmark = pytest.mark.postgres

PARKING_PG_RESTORE = """#!/bin/sh
# pg_restore that waits before it starts, so the test can kill the restore mid-way.
case "$*" in *--version*) exec pg_restore "$@";; esac
touch "$NZILA_TEST_MARK"
sleep 60
exec pg_restore "$@"
"""


def _parking_host(host: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The host project, its pg_restore parked, its SCRATCH_DIR and TMPDIR of the test's own."""
    wrapper = tmp_path / "pg_restore_parked"
    wrapper.write_text(PARKING_PG_RESTORE)
    wrapper.chmod(0o755)
    (tmp_path / "parking_settings.py").write_text(
        "from nzila_export_hub.settings import *  # noqa: F403\n"
        f"NZILA_OPS = {{**NZILA_OPS, 'PG_RESTORE': {str(wrapper)!r}}}  # noqa: F405\n"
    )
    (tmp_path / "tmpdir").mkdir()
    return {
        **host,
        "DJANGO_SETTINGS_MODULE": "parking_settings",
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "NZILA_OPS_SCRATCH_DIR": str(tmp_path / "scratch"),
        "TMPDIR": str(tmp_path / "tmpdir"),
        "NZILA_TEST_MARK": str(tmp_path / "parked"),
    }


def _plaintext_dumps(scratch: Path) -> list[Path]:
    return sorted(scratch.rglob("*.pgdump")) if scratch.exists() else []


@pytest.mark.slow
def test_a_killed_restore_leaves_its_plaintext_only_until_the_next_run(
    host_project: dict[str, str], tmp_path: Path
) -> None:
    env = _parking_host(host_project, tmp_path)
    scratch, mark = tmp_path / "scratch", tmp_path / "parked"
    process = _start_parked_restore(env, mark)

    # Fetched and waiting for pg_restore: the plaintext dump is there, private to this user.
    [dump] = _plaintext_dumps(scratch)
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert stat.S_IMODE(dump.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(scratch.stat().st_mode) == 0o700
    # The parked pg_restore is the schema's, started beside the fetch: the scratch database is
    # there already (restorers/pg_stream.py).
    scratch_databases = pg.databases_like(f"{env['DBNAME']}_nzila_scratch_")
    assert len(scratch_databases) == 1
    os.killpg(process.pid, signal.SIGKILL)  # the command and its children, as an OOM kill would
    process.wait()
    assert dump.exists()  # nothing can run on SIGKILL

    mark.unlink()
    unparked = {**env, "DJANGO_SETTINGS_MODULE": "nzila_export_hub.settings"}
    result = manage(unparked, "restore_database", "--latest", "--no-input")
    assert result.returncode == 0, result.stderr
    assert "left by a run that died" in result.stderr
    assert list(scratch.iterdir()) == []
    assert list((tmp_path / "tmpdir").iterdir()) == []
    assert pg.databases_like(f"{env['DBNAME']}_nzila_scratch_") == []


def _start_parked_restore(env: dict[str, str], mark: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, str(MANAGE_PY), "restore_database", "--latest", "--no-input"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not mark.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "pg_restore was never started"
        time.sleep(0.02)
    return process


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_sigterm_or_sighup_stops_a_restore_and_removes_its_plaintext_at_once(
    host_project: dict[str, str], tmp_path: Path, signum: int
) -> None:
    env = _parking_host(host_project, tmp_path)
    process = _start_parked_restore(env, tmp_path / "parked")
    assert _plaintext_dumps(tmp_path / "scratch") != []
    # TERM: systemd, a container stop, kill. HUP: the engineer's SSH session dropped.
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert stderr.decode().strip().splitlines()[-1] == "CommandError: terminated"
    assert list((tmp_path / "scratch").iterdir()) == []
    assert pg.databases_like(f"{env['DBNAME']}_nzila_scratch_") == []


def test_a_failed_restore_removes_its_plaintext(
    host_project: dict[str, str], tmp_path: Path
) -> None:
    env = _parking_host(host_project, tmp_path)
    # pg_restore itself fails (a tool that exits 1 once the dump is fetched).
    failing = tmp_path / "pg_restore_failing"
    failing.write_text('#!/bin/sh\ncase "$*" in *--version*) exec pg_restore "$@";; esac\nexit 1\n')
    failing.chmod(0o755)
    (tmp_path / "parking_settings.py").write_text(
        "from nzila_export_hub.settings import *  # noqa: F403\n"
        f"NZILA_OPS = {{**NZILA_OPS, 'PG_RESTORE': {str(failing)!r}}}  # noqa: F405\n"
    )
    result = manage(env, "restore_database", "--latest", "--no-input")
    assert result.returncode == 1, result.stderr
    assert list((tmp_path / "scratch").iterdir()) == []
    assert list((tmp_path / "tmpdir").iterdir()) == []
