"""The PostgreSQL database a benchmark's Django settings serve from (``bench/`` is on the path)."""

from __future__ import annotations

import os
from typing import Any


def bench_database(name_variable: str, default_name: str) -> dict[str, Any]:
    """``DATABASES["default"]``: ``PGHOST``/``PGPORT``/``PGUSER``, the database named by the
    environment variable ``name_variable`` (else ``default_name``)."""
    return {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "NAME": os.environ.get(name_variable, default_name),
        # A serving process keeps its connection between requests, as in production.
        "CONN_MAX_AGE": 60,
    }
