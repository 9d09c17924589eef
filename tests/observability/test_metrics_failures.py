"""Metrics never take the site down: a value that cannot be recorded is logged, once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
import logging
import django
django.setup()
# As a host's LOGGING would: nzila_ops' own logger ends in a NullHandler otherwise.
logging.getLogger("nzila_ops").addHandler(logging.StreamHandler())
from django.core.cache import caches
from django.db import connections
from django.test import Client

client = Client(HTTP_HOST="127.0.0.1")
print("live", *(client.get("/ops/health/live").status_code for _ in range(2)))
caches["default"].set("k", 1)
print("cache", caches["default"].get("k"), caches["default"].get("absent", "d"))
with connections["sqlite"].cursor() as cursor:
    cursor.execute("SELECT 41 + 1")
    print("query", cursor.fetchone()[0])
"""


def test_a_missing_multiprocess_directory_breaks_no_request_query_or_cache_read(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "never-created"),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "example_project")]),
    }
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["live 200 200", "cache 1 d", "query 42"]
    for what in ("a request", "a cache read", "a query's duration"):
        # Loud, but once per process: two requests, two cache reads, one line each.
        assert proc.stderr.count(f"metrics: could not record {what};") == 1, proc.stderr
