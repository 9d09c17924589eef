from __future__ import annotations

import threading
from contextlib import suppress
from typing import Any

from django.db import connections

from nzila_ops.health.base import Check

# The raw connection each health thread holds per alias, for close_pooled_connections(). Keyed
# so that one replaced after a failure replaces its entry: the map does not grow with
# reconnects. (Not a WeakSet: sqlite3 connections cannot be weakly referenced.)
_opened: dict[tuple[int, str], Any] = {}
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
        raw = connection.connection
        # Only what the thread notices closed on its next poll (psycopg's .closed): those are
        # the server connections that would block dropping a database. SQLite's block nothing.
        if raw is not None and hasattr(raw, "closed"):
            with _opened_lock:
                _opened[threading.get_ident(), alias] = raw
        return None


def close_pooled_connections() -> None:
    """Close the connections the health threads keep (tests, and before dropping a database).

    The raw driver connections are closed: Django's wrappers may only be used by the thread
    that created them. A closed one is noticed and reopened by its thread on the next poll."""
    with _opened_lock:
        for raw in _opened.values():
            with suppress(Exception):  # already broken: nothing to release
                raw.close()
        _opened.clear()
