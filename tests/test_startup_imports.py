"""What Django's set-up of a host project loads of nzila_ops, in a fresh process as every
manage.py command starts (issue 16: a backup pays for its command's start-up).

Set-up keeps the registrations (admin, signal receivers, system checks, the query timer); what
only a page, a scrape, a restore or a signal needs is imported when that happens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.support.host import REPO, example_env

#: Loaded by what uses them, never by set-up alone.
LOADED_WHEN_USED = (
    "prometheus_client",  # by the first query timed, or a scrape of /ops/metrics
    "nzila_ops.observability.metrics.instruments",
    "nzila_ops.backups.admin_restore_service",  # by the admin's restore page
    "nzila_ops.backups.restore_progress",
    "nzila_ops.backups.catalog",
    "nzila_ops.backups.manifest",
    "nzila_ops.backups.restorers",
    "django.contrib.auth.views",
    "nzila_ops.incidents.service",  # by an incident signal, or an admin action
    "nzila_ops.incidents.notifiers",
    "nzila_ops.incidents.flapping",
    "nzila_ops.sla.periods",  # by the SLA report page
    "nzila_ops.sla.bars",
    "nzila_ops.sla.config",  # by the first get_config()
    "nzila_ops.backups.copy_settings",
    "nzila_ops.observability.metrics.config",
)

SET_UP = """
import json, sys
import django

django.setup()
loaded = sorted(sys.modules)

from django.contrib import admin
from django.core import checks
from django.db import connection
from django.db.backends.signals import connection_created
from nzila_ops import models, signals

with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
from prometheus_client import REGISTRY

print(json.dumps({
    "loaded": loaded,
    "admin": [m.__name__ for m in (models.BackupRecord, models.Incident, models.SlaReport)
              if admin.site.is_registered(m)],
    "receivers": [name for name in ("backup_failed", "backup_succeeded", "component_flipped")
                  if getattr(signals, name).has_listeners()],
    "checks": sorted({c.__module__ for c in checks.registry.registry.get_checks()
                      if c.__module__.startswith("nzila_ops")}),
    "query_timer": connection_created.has_listeners(),
    "queries_timed": REGISTRY.get_sample_value(
        "nzila_db_query_duration_seconds_count", {"database": "default"}
    ),
}))
"""


@pytest.fixture(scope="module")
def after_set_up(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """django.setup() of the example project in a new process, then one query."""
    database = tmp_path_factory.mktemp("startup") / "db.sqlite3"
    path = os.pathsep.join(
        p for p in (str(REPO / "example_project"), str(REPO), os.environ.get("PYTHONPATH")) if p
    )
    env = example_env(DATABASE_URL=f"sqlite:///{database}", PYTHONPATH=path)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", SET_UP], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("module", LOADED_WHEN_USED)
def test_set_up_does_not_import_what_only_its_use_needs(
    after_set_up: dict[str, Any], module: str
) -> None:
    assert module not in after_set_up["loaded"]


def test_set_up_still_registers_the_admin_the_receivers_and_the_checks(
    after_set_up: dict[str, Any],
) -> None:
    assert after_set_up["admin"] == ["BackupRecord", "Incident", "SlaReport"]
    assert after_set_up["receivers"] == ["backup_failed", "backup_succeeded", "component_flipped"]
    assert "nzila_ops.checks" in after_set_up["checks"]
    assert after_set_up["query_timer"] is True


def test_the_first_query_loads_the_histogram_and_is_timed(after_set_up: dict[str, Any]) -> None:
    assert "prometheus_client" not in after_set_up["loaded"]
    assert after_set_up["queries_timed"] >= 1
