from __future__ import annotations

import threading
import weakref
from contextlib import suppress
from typing import Any

from django.db import connections

from nzila_ops.health.base import Check

# The raw connections the health threads opened, for close_pooled_connections(). Weak: one
# replaced after a failure is forgotten with it, so the set does not grow with reconnects.
_opened: weakref.WeakSet[Any] = weakref.WeakSet()
_opened_lock = threading.Lock()


class DatabaseCheck(Check):
    """``SELECT 1`` on one Django database alias (option ``alias``, default "default").

    Runs in a health worker thread, which keeps its own Django connection between polls (as a
    request thread does with CONN_MAX_AGE), so a poll costs a round trip, not a connect."""

    name = "database"

    def check(self) -> str | None:
        alias = self.options.get("alias", "default")
        connection = connections[alias]
        if connection.connection is not None and getattr(connection.connection, "closed", False):
            connection.close()  # closed by close_pooled_connections(): reconnect
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception:
            connection.close()  # do not reuse a broken connection next time
            raise
        if connection.connection is not None:
            with _opened_lock:
                _opened.add(connection.connection)
        return None


def close_pooled_connections() -> None:
    """Close the connections the health threads keep (tests, and before dropping a database).

    The raw driver connections are closed: Django's wrappers may only be used by the thread
    that created them. A closed one is noticed and reopened by its thread on the next poll."""
    with _opened_lock:
        for raw in _opened:
            with suppress(Exception):  # already broken: nothing to release
                raw.close()
        _opened.clear()
