"""Settings of the metrics benchmark: the example project's, on a PostgreSQL database of its own.

The example project's middleware (MetricsMiddleware first), counting cache backend and scrape-time
settings, with the URLconf of ``metrics_urls`` (50 routes) and a bearer token for /ops/metrics.

Environment: ``BENCH_METRICS_DB`` (default ``nzila_bench_metrics``),
``PGHOST``/``PGPORT``/``PGUSER``.
"""

from __future__ import annotations

import os

from nzila_export_hub.settings import *  # noqa: F403
from nzila_export_hub.settings import NZILA_OPS

DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "metrics_urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "NAME": os.environ.get("BENCH_METRICS_DB", "nzila_bench_metrics"),
        # A serving process keeps its connection between requests, as in production.
        "CONN_MAX_AGE": 60,
    }
}
TOKEN = "bench-metrics-token"
NZILA_OPS = {**NZILA_OPS, "METRICS": {**NZILA_OPS.get("METRICS", {}), "TOKEN": TOKEN}}
LOGGING = {"version": 1, "disable_existing_loggers": False}
