from __future__ import annotations

from django.db import connections

from nzila_ops.health.base import Check


class DatabaseCheck(Check):
    """``SELECT 1`` on one Django database alias (option ``alias``, default "default").

    Runs in a health worker thread, which keeps its own Django connection between polls (as a
    request thread does with CONN_MAX_AGE), so a poll costs a round trip, not a connect. One
    the server closed is replaced by Check.run() (health.connections)."""

    name = "database"

    def check(self) -> str | None:
        with connections[self.options.get("alias", "default")].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return None
