"""Settings of the gunicorn served by test_metrics_gunicorn.py: the test suite's, with the metrics
URLconf, the test's own database and /ops/metrics open to the loopback address."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, NZILA_OPS

ROOT_URLCONF = "tests.observability.metrics_urls"
DATABASES["default"]["NAME"] = os.environ["NZILA_METRICS_GUNICORN_DB"]
NZILA_OPS = {**NZILA_OPS, "METRICS": {"ALLOWED_IPS": ["127.0.0.1"]}}
