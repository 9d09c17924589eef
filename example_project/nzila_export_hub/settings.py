"""Settings of the example host project (Nzila Export Hub), read from the environment.

Every variable is documented in the README. Defaults give the embedded setup: SQLite and backups
in example_project/var/backups.
"""

from __future__ import annotations

from pathlib import Path

import environ

from nzila_ops.observability import init_sentry

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-example-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "nzila_ops",
    "deals",
    "vehicles",
    "payments",
]

MIDDLEWARE = [
    # First: times everything below it, and counts its answers (docs/metrics.md).
    "nzila_ops.observability.metrics.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's CSS and JS) from STATIC_ROOT, served by the app itself with
    # DEBUG off, as a deployment without a separate web server serves them.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "nzila_export_hub.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "nzila_export_hub.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}

USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
# Where `collectstatic` gathers the static files that WhiteNoise serves (make demo runs it).
STATIC_ROOT = env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "var" / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Gzip and Brotli variants made at collectstatic time. Not the manifest (hashed names)
    # storage: that one makes every page fail until collectstatic has run, and the example
    # project's commands and tests run without it.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
# JSON, e.g. the folders of kombu's filesystem:// transport (make demo's broker, no Redis).
CELERY_BROKER_TRANSPORT_OPTIONS = env.json("CELERY_BROKER_TRANSPORT_OPTIONS", default={})
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-backup leaves the task for another
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

ADMINS = [("Ops", email) for email in env.list("NZILA_OPS_NOTIFY_EMAILS", default=[])]
EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)

NZILA_OPS = {
    "STORAGES": {
        "default": env(
            # ?create=true: the demo makes its directory on first run; a deployment points at
            # a directory (or volume) that must already exist.
            "NZILA_OPS_BACKUP_STORAGE",
            default=f"file://{BASE_DIR / 'var' / 'backups'}?create=true",
        ),
    },
    "AGE_RECIPIENTS": env.list("NZILA_OPS_AGE_RECIPIENTS", default=[]),
    "AGE_IDENTITY_FILE": env("NZILA_OPS_AGE_IDENTITY_FILE", default=None),
    "COMPRESSION": env("NZILA_OPS_COMPRESSION", default="zstd"),
    # Private directory for temporary plaintext (a restore's decrypted dump); None: system temp.
    "SCRATCH_DIR": env("NZILA_OPS_SCRATCH_DIR", default=None),
    "BACKUP_CRON": env("NZILA_OPS_BACKUP_CRON", default="*/10 * * * *"),  # as nzila_ops.conf
    "NOTIFY_ON_SUCCESS": env("NZILA_OPS_NOTIFY_ON_SUCCESS", default="each"),
    # Partial JSON, merged over the defaults, e.g. {"HOURLY": 48}.
    "RETENTION": env.json("NZILA_OPS_RETENTION", default={}),
    "HEALTH_TOKEN": env("NZILA_OPS_HEALTH_TOKEN", default=None),
    "HEALTH_CACHE_SECONDS": env.float("NZILA_OPS_HEALTH_CACHE_SECONDS", default=10),
    # Inbound alert webhooks (docs/webhooks.md): each is off until its secret is set.
    "WEBHOOKS": {
        "PAGERDUTY_SECRETS": env.list("NZILA_OPS_PAGERDUTY_WEBHOOK_SECRETS", default=[]),
        "UPTIMEROBOT_TOKEN": env("NZILA_OPS_UPTIMEROBOT_WEBHOOK_TOKEN", default=None),
        "SENTRY_CLIENT_SECRET": env("NZILA_OPS_SENTRY_CLIENT_SECRET", default=None),
    },
    # /ops/metrics (docs/metrics.md): off (404) until a token or an allowed network is set.
    "METRICS": {
        "TOKEN": env("NZILA_OPS_METRICS_TOKEN", default=None),
        "ALLOWED_IPS": env.list("NZILA_OPS_METRICS_ALLOWED_IPS", default=[]),
        # The plan's business metrics, computed at scrape time (nzila_export_hub/metrics.py).
        "BUSINESS": {
            name: f"nzila_export_hub.metrics.{name}"
            for name in ("daily_active_users", "deals_per_day", "revenue_per_day_usd")
        },
    },
    # The original plan's monitors beyond the built-in checks: auth, deals, vehicles and
    # payments APIs, the admin portal, and the WebSocket server when there is one (below).
    "HEALTH_EXTRA_CHECKS": [
        {
            "CHECK": "nzila_export_hub.checks.ApiViewCheck",
            "NAME": name,
            "CRITICAL": critical,
            "OPTIONS": {"path": path},
        }
        for name, path, critical in [
            ("auth_api", "/api/auth/session/", True),
            ("deals_api", "/api/deals/", False),
            ("vehicles_api", "/api/vehicles/", False),
            ("payments_api", "/api/payments/", True),
            ("admin_portal", "/admin/login/", False),
        ]
    ],
}
# This project serves no WebSocket: the check is registered only when NZILA_WEBSOCKET_URL
# names a server (yours, e.g. Django Channels behind daphne). Registered without one, it
# failed at every sample. (Its Redis check is the built-in one, registered only when the
# broker or the cache is a Redis: the demo has neither.)
if env("NZILA_WEBSOCKET_URL", default=""):
    NZILA_OPS["HEALTH_EXTRA_CHECKS"].append(
        {
            "CHECK": "nzila_export_hub.checks.WebSocketCheck",
            "NAME": "websocket",
            "CRITICAL": False,
            "OPTIONS": {"url": env("NZILA_WEBSOCKET_URL")},
        }
    )
CACHES = {
    "default": env.cache("DJANGO_CACHE_URL", default="locmemcache://")
    if "DJANGO_CACHE_URL" in env.ENVIRON
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# The same backends, counting hits and misses for /ops/metrics (docs/metrics.md).
_COUNTED_CACHES = {
    f"django.core.cache.backends.{module}.{name}": f"nzila_ops.observability.metrics.cache.{name}"
    for module, name in [("redis", "RedisCache"), ("locmem", "LocMemCache")]
}
for _cache in CACHES.values():
    _cache["BACKEND"] = _COUNTED_CACHES.get(_cache["BACKEND"], _cache["BACKEND"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "[%(asctime)s: %(levelname)s/%(name)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "nzila_ops": {
            "handlers": ["console"],
            "level": env("NZILA_OPS_LOG_LEVEL", default="WARNING"),
            # Not to the root logger as well: a Celery worker gives root a handler of its
            # own, and every nzila_ops line was printed twice in the worker's log.
            "propagate": False,
        }
    },
}

# Sentry (docs/sentry.md): errors, traces and Crons check-ins of the beat entries. Without
# SENTRY_DSN nothing is started (and sentry_sdk is not even imported).
init_sentry(
    dsn=env("SENTRY_DSN", default=None),
    environment=env("SENTRY_ENVIRONMENT", default="development"),
    release=env("SENTRY_RELEASE", default=None),
    traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.1),
    # SQL parameters hold personal data (buyers' names, e-mail addresses): off unless chosen.
    send_sql_params=env.bool("SENTRY_SEND_SQL_PARAMS", default=False),
)
