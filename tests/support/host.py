"""A host project (the example project) on its own PostgreSQL database, driven through
manage.py in separate processes, as operators and workers run it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import pg

REPO = Path(__file__).resolve().parents[2]
MANAGE_PY = REPO / "example_project" / "manage.py"


def example_env(**variables: str) -> dict[str, str]:
    """This process's environment with the example project's settings and ``variables``."""
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "nzila_export_hub.settings", **variables}


def manage(env: dict[str, str], *args: str, **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(MANAGE_PY), *args],
        env=env,
        capture_output=True,
        text=True,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def host_project(tmp_path: Path, age_key: tuple[Path, str], db: object) -> Iterator[dict[str, str]]:
    """A host project on its own PostgreSQL database, migrated, seeded and backed up."""
    name = f"nzila_cmd_{uuid.uuid4().hex[:8]}"
    pg.create_database(name)
    (tmp_path / "backups").mkdir()
    env = example_env(
        DATABASE_URL=pg.url(name),
        NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path / 'backups'}",
        NZILA_OPS_AGE_RECIPIENTS=age_key[1],
        NZILA_OPS_AGE_IDENTITY_FILE=str(age_key[0]),
        DBNAME=name,
    )
    for args in (["migrate", "-v0"], ["seed_demo", "--vehicles", "300"], ["backup_database"]):
        result = manage(env, *args)
        assert result.returncode == 0, result.stderr
    yield env
    for leftover in pg.databases_like(name):
        pg.drop_database(leftover)
