"""A brand-new host project set up by following the README, and nothing else.

In a temporary directory: a wheel built from this checkout, installed into a new virtualenv
with its declared dependencies only (so a dependency missing from pyproject.toml shows here),
``django-admin startproject myproject``, the README's snippets applied to its files, then the
README's commands against a PostgreSQL database of its own and local file storage.

The snippets are read from README.md (each Python block starts with the file it belongs to), so
the README and this test cannot drift apart; the placeholders the README uses (storage path,
age key, identity file) are replaced and each replacement is checked to have happened.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connections

from tests.support import pg

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
PROJECT = "myproject"
# What check_health says when no worker runs, and when beat has never run.
NO_WORKER = {
    "RuntimeError: no Celery worker answered a ping within 1.2 s",
    "timed out after 2 s",
}
NO_BEAT = "RuntimeError: no beat heartbeat recorded"


def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", README, flags=re.MULTILINE | re.DOTALL)


def readme_python(path: str) -> str:
    """The README's Python block whose first line is ``# <path>``."""
    blocks = [block for block in readme_blocks("python") if block.startswith(f"# {path}\n")]
    assert len(blocks) == 1, f"README.md has {len(blocks)} blocks for {path}"
    return blocks[0]


def replaced(text: str, old: str, new: str) -> str:
    assert old in text, f"the README no longer says {old!r}: update this test with it"
    return text.replace(old, new)


def run(argv: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(arg) for arg in argv],
        capture_output=True,
        text=True,
        timeout=600,
        **kwargs,  # type: ignore[arg-type]
    )
    assert result.returncode == 0, f"{argv}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding the wheel built from this checkout and its declared dependencies.

    The README's wheel route: the package's sources (working tree, not only what is committed)
    are copied out first so that building leaves nothing in the checkout."""
    root = tmp_path_factory.mktemp("fresh-host")
    source = root / "nzila-ops"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "nzila_ops", source / "nzila_ops", ignore=shutil.ignore_patterns("__pycache__")
    )
    assert "pip wheel --no-deps -w dist /path/to/nzila-ops" in README
    pip_flags = ["--disable-pip-version-check", "--quiet"]
    run([sys.executable, "-m", "pip", "wheel", *pip_flags, "--no-deps", "-w", "dist", source],
        cwd=root)  # fmt: skip
    (wheel,) = (root / "dist").glob("nzila_ops-*.whl")
    # Not --system-site-packages: this environment's extras (redis, boto3...) must not hide a
    # dependency that pyproject.toml forgot.
    venv = root / "venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin" / "pip", "install", *pip_flags, wheel])
    return venv


@dataclass
class Host:
    project: Path
    dbname: str


@pytest.fixture
def host(installed_venv: Path, tmp_path: Path, age_key: tuple[Path, str]) -> Iterator[Host]:
    """``startproject`` with the README's snippets, on a new PostgreSQL database."""
    project = tmp_path / "host"
    project.mkdir()
    run([installed_venv / "bin" / "django-admin", "startproject", PROJECT, project])
    package = project / PROJECT

    settings = readme_python(f"{PROJECT}/settings.py")
    settings = replaced(settings, "file:///srv/nzila-backups", f"file://{tmp_path / 'backups'}")
    settings = replaced(
        settings, "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p", age_key[1]
    )
    settings = replaced(settings, "/etc/nzila/backup-identity.txt", str(age_key[0]))
    dbname = f"nzila_fresh_{uuid.uuid4().hex[:8]}"
    prefix = f"nzila-fresh-{uuid.uuid4().hex[:8]}:"
    database = connections["default"].settings_dict
    # What is this host's own and not the README's: its database (startproject's is SQLite),
    # and a key prefix that keeps this test's Celery queues and broadcasts apart from any other
    # run on the same Redis (another run's worker must not answer this one's ping).
    settings += f"""
DATABASES = {{"default": {{
    "ENGINE": "django.db.backends.postgresql", "NAME": {dbname!r},
    "HOST": {database["HOST"]!r}, "PORT": {database["PORT"]!r},
    "USER": {database["USER"]!r}, "PASSWORD": {database["PASSWORD"]!r},
}}}}
CELERY_BROKER_TRANSPORT_OPTIONS = {{"global_keyprefix": {prefix!r}}}
"""
    with (package / "settings.py").open("a") as file:
        file.write("\n" + settings)
    with (package / "urls.py").open("a") as file:
        file.write("\n" + readme_python(f"{PROJECT}/urls.py"))
    (package / "celery.py").write_text(readme_python(f"{PROJECT}/celery.py"))
    (package / "__init__.py").write_text(readme_python(f"{PROJECT}/__init__.py"))

    assert "mkdir -p /srv/nzila-backups" in README
    (tmp_path / "backups").mkdir()
    pg.create_database(dbname)
    try:
        yield Host(project, dbname)
    finally:
        for name in pg.databases_like(dbname):
            pg.drop_database(name)


def host_env() -> dict[str, str]:
    """This environment without what points at this checkout (the suite's own settings)."""
    env = {**os.environ, "PYTHONPATH": ""}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def manage(
    venv: Path, project: Path, *args: str, check: bool = True, readme: bool = True
) -> subprocess.CompletedProcess:
    """``python manage.py ARGS`` in the host, with nothing of this checkout on the path; the
    command must be one the README tells the host to run (unless ``readme=False``)."""
    if readme:
        assert re.search(rf"python manage\.py {re.escape(args[0])}\b", README), args[0]
    result = subprocess.run(
        [str(venv / "bin" / "python"), "manage.py", *args],
        cwd=project, env=host_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if check:
        assert result.returncode == 0, f"manage.py {' '.join(args)}: {result.stdout}{result.stderr}"
    return result


def health(venv: Path, project: Path) -> dict[str, dict[str, str]]:
    result = manage(venv, project, "check_health", "--json", check=False)
    return json.loads(result.stdout)["checks"]


def failing(checks: dict[str, dict[str, str]]) -> dict[str, str]:
    return {name: c.get("reason", "") for name, c in checks.items() if c["status"] == "failing"}


def http_get(venv: Path, project: Path, url: str) -> tuple[int, dict[str, object]]:
    """GET a URL of the host through Django's test client (the URL include is the README's)."""
    code = (
        "import json; from django.test import Client; "
        f"r = Client().get({url!r}, HTTP_HOST='localhost'); "
        "print(json.dumps([r.status_code, json.loads(r.content)]))"
    )
    result = manage(venv, project, "shell", "-c", code, readme=False)
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    return status, body


def test_a_fresh_host_project_set_up_from_the_readme_backs_up_restores_and_reports_health(
    installed_venv: Path, host: Host
) -> None:
    venv, project = installed_venv, host.project
    # Nothing else on the path: the package comes from the wheel, not this checkout.
    origin = run([venv / "bin" / "python", "-c", "import nzila_ops; print(nzila_ops.__file__)"],
                 cwd=project, env=host_env()).stdout  # fmt: skip
    assert origin.startswith(str(venv))

    manage(venv, project, "migrate", "--no-input", "-v", "0")
    assert "System check identified no issues" in manage(venv, project, "check").stdout
    manage(venv, project, "setup_schedules")
    # No heartbeat yet is only a warning for 2 minutes after setup_schedules; the entry is
    # dated back rather than waited for, so that the state below does not depend on timing.
    code = ("from datetime import timedelta; from django.utils import timezone; "
            "from django_celery_beat.models import PeriodicTask; "
            "PeriodicTask.objects.filter(task='nzila_ops.beat_heartbeat')"
            ".update(date_changed=timezone.now() - timedelta(hours=1))")  # fmt: skip
    manage(venv, project, "shell", "-c", code, readme=False)
    # Before the first backup, its freshness fails too (as the README says).
    before = health(venv, project)
    assert failing(before).keys() == {"backup_freshness", "celery_workers", "celery_beat"}
    assert before["backup_freshness"]["reason"].startswith(
        "RuntimeError: no successful backup of 'default' in "
    )
    backup = json.loads(
        manage(venv, project, "backup_database", "--type", "manual", "--json").stdout
    )
    assert (backup["database"], backup["encrypted"]) == ("default", True)
    verified = json.loads(manage(venv, project, "verify_backup", "--latest", "--json").stdout)
    assert verified["name"] == backup["name"]
    restored = json.loads(
        manage(venv, project, "restore_database", "--latest", "--no-input", "--json").stdout
    )
    # The restored copy took the live name; the database it replaced is kept beside it.
    assert (restored["backup_name"], restored["target"]) == (backup["name"], host.dbname)
    assert restored["previous_database"].startswith(f"{host.dbname}_pre_restore_")
    assert sorted(pg.databases_like(host.dbname)) == [
        host.dbname, restored["previous_database"]
    ]  # fmt: skip

    # A default install fails only where something is genuinely absent: no worker, no beat.
    checks = health(venv, project)
    assert set(checks) == {
        "database", "cache", "redis", "celery_workers", "celery_beat", "backup_storage",
        "backup_freshness", "migrations", "disk",
    }  # fmt: skip
    assert failing(checks) == {
        "celery_workers": checks["celery_workers"]["reason"],
        "celery_beat": NO_BEAT,
    }
    # Either the ping's own wait ran out, or the check's timeout did first (the first
    # connection to the broker in a new process takes part of it): no worker either way.
    assert checks["celery_workers"]["reason"] in NO_WORKER
    status, body = http_get(venv, project, "/ops/health/")
    assert status == 503
    assert body["checks"] == {
        "database": "ok", "cache": "ok", "redis": "ok", "celery_workers": "failing",
    }  # fmt: skip

    # The README's Celery app: once its worker runs, every critical check passes.
    worker = subprocess.Popen(
        [str(venv / "bin" / "celery"), "-A", PROJECT, "worker", "--pool", "solo", "-l", "WARNING"],
        cwd=project, env=host_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        checks = wait_for_worker(venv, project, worker)
        assert failing(checks) == {"celery_beat": NO_BEAT}
        status, body = http_get(venv, project, "/ops/health/")
        assert (status, body["status"]) == (200, "ok")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)


def wait_for_worker(
    venv: Path, project: Path, worker: subprocess.Popen
) -> dict[str, dict[str, str]]:
    """check_health until the worker answers its ping (it takes a few seconds to start)."""
    for _ in range(30):
        checks = health(venv, project)
        if checks["celery_workers"]["status"] == "ok":
            return checks
        assert worker.poll() is None, f"the Celery worker exited: {worker.stderr.read()}"  # type: ignore[union-attr]
    raise AssertionError(f"no worker answered: {checks['celery_workers']}")
