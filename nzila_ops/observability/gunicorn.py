"""gunicorn hooks for the request-side metrics in multiprocess mode (docs/metrics.md).

Use this module as gunicorn's configuration::

    PROMETHEUS_MULTIPROC_DIR=/run/nzila-metrics gunicorn \\
        -c python:nzila_ops.observability.gunicorn nzila_export_hub.wsgi --workers 4

or import the hooks into a configuration of your own::

    from nzila_ops.observability.gunicorn import child_exit, on_starting  # noqa: F401

PROMETHEUS_MULTIPROC_DIR must be in the environment before gunicorn starts (prometheus_client
chooses its storage when first imported), and the directory must be emptied at each start: left
over files of a previous run would be added to this run's counters. ``on_starting`` does both
(creates the directory, removes the ``*.db`` files of processes no longer running) in the
master, before any worker exists.

Importable without Django settings: gunicorn reads it before loading the application.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENV = "PROMETHEUS_MULTIPROC_DIR"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def on_starting(server: Any) -> None:
    """Master start: make PROMETHEUS_MULTIPROC_DIR exist and hold no previous run's files.

    A file of a process still running (a Celery worker on this host sharing the directory, so
    that its query timings reach the scrape) is kept: removing it would lose its counts for as
    long as it runs. Files are named ``<kind>_<pid>.db``."""
    directory = os.environ.get(ENV)
    if not directory:
        server.log.warning(
            "%s is not set: each worker's metrics are its own and a scrape sees one worker", ENV
        )
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for leftover in path.glob("*.db"):
        pid = leftover.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _running(int(pid)):
            continue
        leftover.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited: mark its files dead (its counters are kept, its live gauges dropped)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
