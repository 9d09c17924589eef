"""A Celery app for a real prefork worker process in the task-metrics tests: Django set up with
the test settings (so nzila_ops's receivers are connected, as in a host's worker), broker and
results on Redis db 11."""

from __future__ import annotations

import os
import time

import django
from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

BROKER = os.environ.get("NZILA_METRICS_TEST_BROKER", "redis://127.0.0.1:6379/11")
app = Celery("nzila_metrics_worker", broker=BROKER, backend=BROKER)
app.conf.update(
    task_always_eager=False,
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=1,
)


@app.task(name="tests.worker.ok")
def ok() -> str:
    return "done"


@app.task(name="tests.worker.overrun", time_limit=2)
def overrun() -> None:
    # Killed by the hard time limit: the pool process never reports; the main process does.
    time.sleep(60)


@app.task(name="tests.worker.crash")
def crash() -> None:
    # The pool process dies mid-task (an OOM kill looks the same).
    os.kill(os.getpid(), 9)
