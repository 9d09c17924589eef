"""The lock that lets one worker at a time copy a backup to a target.

The BackupCopy row's compare-and-update claim (copies._claim) needs a row, and there is none
when the catalog has no record of the backup (a new host, a restored database): two workers
given that copy would both run it. On a PostgreSQL catalog the copy therefore also holds a
session advisory lock keyed on (backup name, target), on a connection of its own, for its whole
run; the server drops it if the worker dies. A SQLite catalog cannot lock across processes:
there the row claim is the only guard (docs/backups.md).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connections, router

from nzila_ops.backups.claim import lock_key
from nzila_ops.models import BackupCopy

logger = logging.getLogger("nzila_ops.backups")

# First key of the two-key advisory lock (both int4): nzila_ops copies, ASCII "nzcp" (the
# backup claims use "nzbk"), so a copy's lock never meets a backup's.
COPY_LOCK_CLASS = 0x6E7A6370


class CopyLock:
    """The advisory lock of one copy; a no-op (always acquired) on a catalog without them."""

    def __init__(self, name: str, storage: str) -> None:
        catalog = router.db_for_write(BackupCopy)
        self.key = lock_key(f"{name}\n{storage}")
        self.connection = None
        if connections[catalog].vendor == "postgresql":
            # Its own connection: a copy's catalog writes (and their errors) on Django's
            # connection must not drop the lock mid-copy.
            self.connection = connections.create_connection(catalog)

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another worker holds it."""
        if self.connection is None:
            return True
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [COPY_LOCK_CLASS, self.key])
            return bool(cursor.fetchone()[0])

    def release(self) -> None:
        if self.connection is None:
            return
        try:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [COPY_LOCK_CLASS, self.key])
        except DatabaseError as exc:
            logger.warning("releasing the copy's lock failed: %s", exc)
        try:
            self.connection.close()  # also drops the lock, whatever happened above
        except DatabaseError as exc:
            logger.warning("closing the copy's lock connection failed: %s", exc)
