"""What happens when a metric cannot be recorded: one log line per kind, and the work goes on.

Apart from instruments.py so that code recording a metric lazily (the query timer) can report a
failure without importing prometheus_client first.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("nzila_ops.metrics")
_reported: set[str] = set()


def recording_failed(what: str) -> None:
    """Log, once per process and kind, that a value could not be recorded (e.g. a
    PROMETHEUS_MULTIPROC_DIR that does not exist). Called from an ``except`` block: the request,
    query or cache read that was being measured goes on; metrics never take the site down."""
    if what not in _reported:
        _reported.add(what)
        logger.exception(
            "metrics: could not record %s; going on without (logged once per process)", what
        )
