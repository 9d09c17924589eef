"""Settings of the copy benchmark: the example project, its catalog in a SQLite file, backups in
one moto bucket (BENCH_COPY_PRIMARY) copied to another (BENCH_COPY_SECONDARY). Read by
``manage.py copy_backups`` in ``bench_copy.py`` (``DJANGO_SETTINGS_MODULE=copy_settings``,
``bench/`` on the path)."""

from __future__ import annotations

import os

from nzila_export_hub.settings import *  # noqa: F403

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_COPY_DB"]}
}
NZILA_OPS = {
    "STORAGES": {
        "default": os.environ["BENCH_COPY_PRIMARY"],
        "secondary": os.environ["BENCH_COPY_SECONDARY"],
    },
    "COPY_STORAGES": ["secondary"],
}
