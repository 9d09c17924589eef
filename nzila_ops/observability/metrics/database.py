"""The database query duration histogram, for every connection of every process.

A receiver of ``connection_created`` (installed in AppConfig.ready) adds a query timer to the
connection's ``execute_wrappers``, so queries are timed wherever Django opens a connection: web
requests, Celery tasks, management commands. The wrapper list belongs to the connection object
(one per alias and thread) and outlives reconnections, so the timer is added once.

The histogram (and with it prometheus_client) is imported by the first query timed, not here:
this module is imported by AppConfig.ready() in every manage.py command, most of which never
query (issue 16).
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

from nzila_ops.observability.metrics.failures import recording_failed

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper


class QueryTimer:
    """An execute wrapper observing each query's duration under the connection's alias."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.histogram: Any = None

    def __call__(
        self, execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any
    ) -> Any:
        start = perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            # A failed query took time too (a lock wait that timed out is the slow one).
            self.observe(perf_counter() - start)

    def observe(self, seconds: float) -> None:
        try:
            if self.histogram is None:
                from nzila_ops.observability.metrics.instruments import DB_QUERY_DURATION

                self.histogram = DB_QUERY_DURATION.labels(self.alias)
            self.histogram.observe(seconds)
        except Exception:
            # Never instead of the query's own result or error.
            recording_failed("a query's duration")


def install_query_timer(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: time this connection's queries (once per connection)."""
    if not any(isinstance(w, QueryTimer) for w in connection.execute_wrappers):
        # First, not appended: a connection opened inside ``connection.execute_wrapper(w)``
        # would otherwise lose our timer, not w, when that context pops the last wrapper.
        connection.execute_wrappers.insert(0, QueryTimer(connection.alias))
