"""Settings for the test suite: the example project's apps on real PostgreSQL, plus SQLite."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# The example settings start Sentry when SENTRY_DSN is set: a developer's shell must not send
# the suite's deliberate errors to a real project (the Sentry tests capture their own envelopes).
os.environ.pop("SENTRY_DSN", None)

from nzila_export_hub.settings import *  # noqa: F403

PG = {
    "ENGINE": "django.db.backends.postgresql",
    "HOST": os.environ.get("PGHOST", "127.0.0.1"),
    "PORT": os.environ.get("PGPORT", "5432"),
    "USER": os.environ.get("PGUSER", "postgres"),
    "PASSWORD": os.environ.get("PGPASSWORD", ""),
}
SQLITE_DIR = Path(tempfile.gettempdir()) / f"nzila-tests-{os.getpid()}"
SQLITE_DIR.mkdir(exist_ok=True)
# WhiteNoise warns when STATIC_ROOT does not exist; the suite serves no collected static files.
STATIC_ROOT = SQLITE_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)

DATABASES = {
    # NZILA_TEST_DB lets two test runs on one machine keep their databases apart.
    "default": {**PG, "NAME": os.environ.get("NZILA_TEST_DB", "nzila_ops")},
    "sqlite": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(SQLITE_DIR / "sqlite.sqlite3"),
        "TEST": {"NAME": str(SQLITE_DIR / "test_sqlite.sqlite3")},
    },
}
# Tests choose their storage and keys through the `ops_settings` fixture.
NZILA_OPS = {"STORAGES": {"default": f"file://{SQLITE_DIR / 'backups'}"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ADMINS = [("Ops", "ops@example.com")]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Tasks queued by the code under test (incident deliveries) run at once, in the test's process.
CELERY_TASK_ALWAYS_EAGER = True
