"""The database connections the health checks' threads keep between polls.

Each health thread keeps its Django connections between polls (as a request thread does with
CONN_MAX_AGE), so a poll costs a round trip, not a connect. The server may close them under us:
a restore's swap terminates the live database's sessions (pg_terminate_backend), PostgreSQL
restarts. That is not an outage: Check.run() asks discard_closed() which connections the server
closed, and answers from fresh ones (a real outage fails again, on the fresh connection).
"""

from __future__ import annotations

import os
import threading
from contextlib import suppress
from typing import Any

from django.db import connections

# The raw connection each health thread holds per alias, for close_pooled_connections(). Keyed
# so that one replaced after a failure replaces its entry: the map does not grow with
# reconnects. (Not a WeakSet: sqlite3 connections cannot be weakly referenced.)
_opened: dict[tuple[int, str], Any] = {}
_opened_lock = threading.Lock()


def _forget_after_fork() -> None:
    # A forked child shares these sockets with its parent: closing them there would end the
    # parent's sessions. It keeps none; its own threads open their own.
    global _opened_lock
    _opened.clear()
    _opened_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def _closed(raw: Any) -> bool:
    # psycopg 3: a bool, True once it has met the server's goodbye; psycopg2: non-zero.
    return bool(getattr(raw, "closed", False))


def discard_closed() -> bool:
    """Drop this thread's connections that are closed or broken; True if there was one.

    A connection inside a transaction (atomic block) is left alone: it is its owner's to
    handle. One that met a database error is probed (Django's is_usable(): a round trip) and
    dropped only if it no longer works; a working one is marked clean again."""
    dropped = False
    for connection in connections.all(initialized_only=True):
        raw = connection.connection
        if raw is None or connection.in_atomic_block:
            continue
        if _closed(raw) or (connection.errors_occurred and not connection.is_usable()):
            with suppress(Exception):  # already broken: nothing to release
                connection.close()
            dropped = True
        else:
            connection.errors_occurred = False
    return dropped


def remember() -> None:
    """Note this thread's server connections for close_pooled_connections(). Only those the
    thread notices closed on its next poll (psycopg's ``.closed``): they are the ones that
    would block dropping a database; SQLite's block nothing."""
    ident = threading.get_ident()
    with _opened_lock:
        for connection in connections.all(initialized_only=True):
            raw = connection.connection
            if raw is not None and hasattr(raw, "closed"):
                _opened[ident, connection.alias] = raw


def close_pooled_connections() -> None:
    """Close the connections the health threads keep (tests, and before dropping a database).

    The raw driver connections are closed: Django's wrappers may only be used by the thread
    that created them. A closed one is noticed and reopened by its thread on the next poll."""
    with _opened_lock:
        for raw in _opened.values():
            with suppress(Exception):  # already broken: nothing to release
                raw.close()
        _opened.clear()
