"""The host project's Celery app, wired the usual way: settings under CELERY_*, tasks
discovered in every installed app (nzila_ops.tasks included)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nzila_export_hub.settings")

app = Celery("nzila_export_hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
