"""Settings of the metrics benchmark: the example project's, on a PostgreSQL database of its own.

The example project's middleware (MetricsMiddleware first), counting cache backend and scrape-time
settings, with the URLconf of ``metrics_urls`` (50 routes) and a bearer token for /ops/metrics.

Environment: ``BENCH_METRICS_DB`` (default ``nzila_bench_metrics``),
``PGHOST``/``PGPORT``/``PGUSER``.
"""

from __future__ import annotations

from _bench_database import bench_database

from nzila_export_hub.settings import *  # noqa: F403
from nzila_export_hub.settings import NZILA_OPS

DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "metrics_urls"
DATABASES = {"default": bench_database("BENCH_METRICS_DB", "nzila_bench_metrics")}
TOKEN = "bench-metrics-token"
NZILA_OPS = {**NZILA_OPS, "METRICS": {**NZILA_OPS.get("METRICS", {}), "TOKEN": TOKEN}}
LOGGING = {"version": 1, "disable_existing_loggers": False}
