"""`make demo`'s last step (scripts/demo_serve) and its login (manage.py demo_login).

From a terminal (a pseudo-terminal here, Ctrl-C typed into it): the example project is served by
gunicorn with its admin styled and a Celery worker beside it, the printed login works, and
Ctrl-C stops everything with exit 0. Without a terminal, or with CI set, nothing is served and
the script returns at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import http.cookiejar
import importlib.machinery
import importlib.util
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "demo_serve"
MANAGE_PY = REPO / "example_project" / "manage.py"
SERVED = re.compile(rb"served at (http://127\.0\.0\.1:(\d+))/admin/")
LOGIN = re.compile(rb"demo login \(this local demo only\): (\S+) / (\S+)\r?\n")


# What the admin's "verify" action queues, for the demo's one backup; its outcome as recorded.
VERIFY_IN_THE_WORKER = (
    "from nzila_ops.models import BackupRecord; from nzila_ops.tasks import verify_backup_task; "
    "verify_backup_task.delay(BackupRecord.objects.get().name).get(timeout=60); "
    "print(BackupRecord.objects.get().verification_result)"
)


def celery_environ(var: Path) -> dict[str, str]:
    """The broker, results and cache variables that scripts/demo_serve gives its children."""
    loader = importlib.machinery.SourceFileLoader("demo_serve", str(SCRIPT))
    spec = importlib.util.spec_from_loader("demo_serve", loader)
    assert spec is not None
    script = importlib.util.module_from_spec(spec)
    loader.exec_module(script)
    return {
        name: value
        for name, value in script.demo_environ(var).items()
        if name.startswith(("CELERY_", "DJANGO_CACHE_URL"))
    }


def processes_of(var: Path) -> list[int]:
    """The processes whose environment names ``var``: the demo's server, its workers, Celery."""
    marker = str(var).encode()
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and marker in (entry / "environ").read_bytes():
                found.append(int(entry.name))
    return found


def left_running(var: Path) -> list[int]:
    """The demo's processes still there after a few seconds (a killed one takes a moment)."""
    deadline = time.monotonic() + 10
    while (found := processes_of(var)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def kill_leftovers(var: Path) -> None:
    """Whatever a failed test left running of the demo (each child has a process group)."""
    for pid in processes_of(var):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


@functools.cache
def demo_environ(root: Path) -> dict[str, str]:
    """The example project on a SQLite file, static directory and age key of ``root``; the
    identity file named relative to ``root`` (the directory to run in), as make names it."""
    environ = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("DJANGO_")}
    identity = "demo-age-identity.txt"
    recipient = subprocess.run(
        [sys.executable, str(REPO / "example_project" / "demo_key.py"), identity],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return {
        **environ,
        "DATABASE_URL": f"sqlite:///{root / 'db.sqlite3'}",
        "DJANGO_STATIC_ROOT": str(root / "static"),
        "NZILA_OPS_BACKUP_STORAGE": f"file://{root / 'backups'}?create=true",
        "NZILA_OPS_AGE_RECIPIENTS": recipient,
        "NZILA_OPS_AGE_IDENTITY_FILE": identity,
    }


class Terminal:
    """A process run on a new pseudo-terminal, as its controlling terminal; output kept."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )  # fmt: skip
        os.close(slave)
        self.output = bytearray()
        self._hanging_up = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        # Never blocked inside read(): a read in progress holds the terminal open after
        # hang_up() closes its descriptor, and the kernel hangs a terminal up (SIGHUP) only
        # once nothing holds it, so a hang-up with no output after it never came.
        while not self._hanging_up.is_set():
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: every process holding the terminal has exited
                return
            if not chunk:
                return
            self.output += chunk

    def wait_for(self, pattern: re.Pattern[bytes], seconds: float) -> re.Match[bytes]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if found := pattern.search(bytes(self.output)):
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no {pattern.pattern!r} in:\n{self.text()}")

    def text(self) -> str:
        return self.output.decode(errors="replace")

    def press_ctrl_c(self) -> None:
        os.write(self.master, b"\x03")

    def hang_up(self) -> None:
        """Close the terminal (its window closed, the SSH connection dropped)."""
        self._hanging_up.set()
        self._reader.join()
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        """Kill whatever is left of the process group (a failed test leaves no server behind)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        if self.master != -1:
            os.close(self.master)
        self._reader.join(timeout=5)


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """make demo's steps before the serving one, in short: migrated, static files collected,
    one encrypted backup."""
    root = tmp_path_factory.mktemp("demo")
    for args in (
        ["migrate", "--no-input", "-v0"],
        ["collectstatic", "--no-input", "-v0"],
        ["backup_database", "--type", "manual"],
    ):
        result = subprocess.run(
            [sys.executable, str(MANAGE_PY), *args], env=demo_environ(root), cwd=root,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port of 127.0.0.1 that something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def logged_in(base: str, username: str, password: str) -> tuple[Any, str]:
    """Log in through the admin's login form (CSRF cookie and token); the admin index page."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    login_url = f"{base}/admin/login/?next=/admin/"
    form = opener.open(login_url, timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token, form
    fields = {"csrfmiddlewaretoken": token[1], "username": username, "password": password}
    data = urllib.parse.urlencode({**fields, "next": "/admin/"}).encode()
    with opener.open(login_url, data, timeout=30) as response:
        assert (response.status, response.url) == (200, f"{base}/admin/")
        return opener, response.read().decode()


def health_summary(base: str) -> dict[str, str]:
    try:
        with urllib.request.urlopen(f"{base}/ops/health/", timeout=30) as response:
            return json.load(response)["checks"]
    except urllib.error.HTTPError as failing:  # 503 while a critical check fails
        return json.load(failing)["checks"]


@pytest.mark.slow
def test_from_a_terminal_the_demo_serves_the_styled_admin_with_a_worker_until_ctrl_c(
    demo_project: Path, taken_port: int
) -> None:
    argv = [sys.executable, str(SCRIPT), "--var", str(demo_project / "var")]
    terminal = Terminal(
        [*argv, "--port", str(taken_port)], demo_environ(demo_project), cwd=demo_project
    )
    try:
        served = terminal.wait_for(SERVED, 120)
        base, port = served[1].decode(), int(served[2])
        # The port asked for was taken: another is chosen, and the one chosen is printed.
        assert port != taken_port
        assert f"port {taken_port} is taken".encode() in terminal.output
        username, password = (part.decode() for part in terminal.wait_for(LOGIN, 5).groups())

        opener, index = logged_in(base, username, password)
        assert "Site administration" in index
        stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', index)
        assert "/static/admin/css/base.css" in stylesheets
        for href in stylesheets:
            with opener.open(urllib.parse.urljoin(base, href), timeout=30) as css:
                assert (css.status, css.headers["Content-Type"][:8]) == (200, "text/css")

        # The worker beside the server answers the server's ping (over the filesystem broker).
        deadline = time.monotonic() + 90
        while (checks := health_summary(base))["celery_workers"] != "ok":
            assert time.monotonic() < deadline, checks
            time.sleep(2)

        # A verification queued as the admin's action queues it is run by that worker, which
        # reads the age identity named relative to where make ran (the queue and the results
        # are files under --var).
        queued = subprocess.run(
            [sys.executable, str(MANAGE_PY), "shell", "-c", VERIFY_IN_THE_WORKER],
            env={**demo_environ(demo_project), **celery_environ(demo_project / "var")},
            cwd=demo_project, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert queued.returncode == 0, queued.stderr + terminal.text()
        assert queued.stdout.splitlines()[-1] == "passed"

        terminal.press_ctrl_c()
        assert terminal.process.wait(timeout=60) == 0, terminal.text()
        # Nothing of the demo is left running (gunicorn, its workers, Celery).
        assert left_running(demo_project / "var") == [], terminal.text()
    finally:
        terminal.close()
        kill_leftovers(demo_project / "var")


@pytest.mark.slow
def test_when_its_terminal_closes_the_demo_stops_its_server_and_worker(demo_project: Path) -> None:
    argv = [sys.executable, str(SCRIPT), "--var", str(demo_project / "var"), "--port", "0"]
    terminal = Terminal(argv, demo_environ(demo_project), cwd=demo_project)
    try:
        base = terminal.wait_for(SERVED, 120)[1].decode()
        terminal.hang_up()
        assert terminal.process.wait(timeout=60) == 0, terminal.text()
        # Left alone, gunicorn would take a hang-up as "reload" and serve on: nothing is left.
        assert left_running(demo_project / "var") == [], terminal.text()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"{base}/ops/health/live", timeout=5)
    finally:
        terminal.close()
        kill_leftovers(demo_project / "var")


def test_without_a_terminal_the_demo_is_not_served_and_the_script_returns(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--var", str(tmp_path / "var")],
        env=demo_environ(tmp_path), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("== not run from a terminal: the example project is not served")
    assert not (tmp_path / "var").exists()


def test_with_ci_set_the_demo_is_not_served_even_from_a_terminal(tmp_path: Path) -> None:
    environ = {**demo_environ(tmp_path), "CI": "true"}
    argv = [sys.executable, str(SCRIPT), "--var", str(tmp_path / "var")]
    terminal = Terminal(argv, environ, cwd=tmp_path)
    try:
        assert terminal.process.wait(timeout=60) == 0, terminal.text()
        terminal.wait_for(re.compile(rb"== CI is set: the example project is not served"), 5)
    finally:
        terminal.close()
    assert not (tmp_path / "var").exists()


@pytest.mark.django_db
def test_the_demo_login_is_made_once_and_keeps_its_password(tmp_path: Path, capsys: Any) -> None:
    password_file = tmp_path / "var" / "demo-login.txt"
    call_command("demo_login", password_file=password_file)
    call_command("demo_login", password_file=password_file)
    password = password_file.read_text().strip()
    assert capsys.readouterr().out == f"demo / {password}\n" * 2
    assert password_file.stat().st_mode & 0o777 == 0o600
    (user,) = get_user_model().objects.filter(username="demo")
    assert user.is_superuser and user.is_staff and user.check_password(password)
    assert user.user_permissions.filter(codename="restore_backup").exists()


@pytest.mark.django_db
def test_an_emptied_password_file_is_refused_and_says_what_to_do(tmp_path: Path) -> None:
    password_file = tmp_path / "demo-login.txt"
    password_file.write_text("\n")
    with pytest.raises(CommandError, match="is empty: delete it and a new password is made"):
        call_command("demo_login", password_file=password_file)
    assert not get_user_model().objects.filter(username="demo").exists()
