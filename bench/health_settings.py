"""Settings of the health benchmark: nzila_ops and django-health-check in one project.

Both endpoints run in the same process under the same middleware, database and cache, so the
only difference between the rows of ``bench_health.py`` is the health code itself. Read by
gunicorn in ``.bench-venv`` (``DJANGO_SETTINGS_MODULE=health_settings``, ``bench/`` on the path).

Environment: ``BENCH_HEALTH_CACHE_SECONDS`` (nzila_ops' result cache, default 0 = off),
``BENCH_HEALTH_DB`` (default ``nzila_bench_health``), ``PGHOST``/``PGPORT``/``PGUSER``,
``BENCH_HEALTH_REDIS`` (default ``redis://127.0.0.1:6379``).
"""

from __future__ import annotations

import os

from _bench_database import bench_database

SECRET_KEY = "bench-health-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

# The apps and middleware of `django-admin startproject`, as a real host project would have.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "health_check",
    "nzila_ops",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "health_urls"

DATABASES = {"default": bench_database("BENCH_HEALTH_DB", "nzila_bench_health")}

REDIS = os.environ.get("BENCH_HEALTH_REDIS", "redis://127.0.0.1:6379").rstrip("/")
# Django's cache (both sides' cache check) on db 2; both Redis checks PING db 1.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"{REDIS}/2",
    }
}
HEALTH_REDIS_URL = f"{REDIS}/1"

NZILA_OPS = {
    "STORAGES": {"default": "file:///tmp/nzila-bench-health"},
    "HEALTH_CHECKS": [
        "nzila_ops.health.checks.database.DatabaseCheck",
        "nzila_ops.health.checks.cache.CacheCheck",
        {"CHECK": "nzila_ops.health.checks.redis.RedisCheck", "OPTIONS": {"url": HEALTH_REDIS_URL}},
    ],
    "HEALTH_CACHE_SECONDS": int(os.environ.get("BENCH_HEALTH_CACHE_SECONDS", "0")),
}

USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
