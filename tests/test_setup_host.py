"""scripts/setup_host: the machine set-up that `make test` and `make demo` run first."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "setup_host"


def setup_host(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=60
    )


@pytest.fixture
def path_without_age_and_zstd() -> Iterator[str]:
    """A PATH holding every command of this machine except age and zstd, as on a machine
    where those packages were never installed. World-readable, for the unprivileged user."""
    bin_dir = Path(tempfile.mkdtemp(prefix="nzila-path-"))
    bin_dir.chmod(0o755)
    for directory in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        for tool in Path(directory).glob("*"):
            target = bin_dir / tool.name
            if tool.name not in ("age", "zstd") and not target.exists():
                target.symlink_to(tool)
    yield str(bin_dir)
    shutil.rmtree(bin_dir)


def test_a_machine_already_set_up_is_left_as_it_is_and_nothing_is_printed() -> None:
    # PostgreSQL and Redis run and every tool is installed (this suite needs them).
    result = setup_host("test")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_without_root_missing_tools_are_named_with_their_packages_and_the_install_command(
    path_without_age_and_zstd: str,
) -> None:
    env = {
        "PATH": path_without_age_and_zstd,
        # The Python that makes the virtualenv is not what this test is about: `true` passes
        # the script's "can it make a venv" probe.
        "PYTHON": "true",
    }
    command = [str(SCRIPT), "test"]
    if os.geteuid() == 0:
        # As root the script would install them: run it as an unprivileged user instead.
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "setup_host: missing, and cannot install them (not root):",
        "  age (Debian package age)",
        "  zstd (Debian package zstd)",
        "setup_host: as root: apt-get update && apt-get install -y age zstd",
    ]


def test_demo_needs_no_database_server_or_client_tools(path_without_age_and_zstd: str) -> None:
    # The demo runs on SQLite with the Python libraries alone: a machine without age, zstd
    # (or PostgreSQL) is fine for it, even as a user who could not install them.
    env = {"PATH": path_without_age_and_zstd, "PYTHON": "true"}
    command = [str(SCRIPT), "demo"]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_an_unknown_mode_is_one_line_and_exit_2() -> None:
    result = setup_host("everything")
    assert (result.returncode, result.stderr) == (2, "usage: scripts/setup_host demo|test\n")
