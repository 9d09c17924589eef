"""The claim that lets one run at a time back up a database, held exactly as long as that run lives.

The claim is the database's one ``running`` BackupRecord (a partial unique constraint refuses a
second). What decides whether the run behind a ``running`` record is still alive:

- On a PostgreSQL catalog, a session advisory lock held on a connection of the run's own. The
  server drops it the moment the run's process dies (kill -9, OOM: the kernel closes the socket),
  so the next backup, started at once, takes over.
- Everywhere, a heartbeat: the run refreshes ``heartbeat_at`` every BACKUP_HEARTBEAT_SECONDS from
  a thread. A claim whose heartbeat is older than BACKUP_HEARTBEAT_TIMEOUT_SECONDS belongs to a dead
  run. This is the rule for catalogs that cannot lock (SQLite), and on PostgreSQL it covers the
  host that vanished without closing its connection (a reboot, a cut network): the server keeps
  such a session, and its lock, until TCP gives up, so its backend is terminated.

A dead run's record is marked failed, saying why, when its claim is taken over.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connections,
    router,
    transaction,
)
from django.db.models import Q
from django.utils import timezone

from nzila_ops.conf import get_config
from nzila_ops.exceptions import BackupError, BackupSkipped
from nzila_ops.models import BackupRecord

logger = logging.getLogger("nzila_ops.backups")

# First key of the two-key advisory lock (both int4): nzila_ops backup claims, ASCII "nzbk".
LOCK_CLASS = 0x6E7A626B
RUNNING = BackupRecord.Status.RUNNING
TERMINATION_WAIT_SECONDS = 10


def lock_key(alias: str) -> int:
    """Second key: a stable 31-bit number for the database alias (hash() changes per process)."""
    return int.from_bytes(hashlib.sha256(alias.encode()).digest()[:4], "big") >> 1


class AdvisoryLock:
    """A session advisory lock on a dedicated connection to the PostgreSQL catalog database.

    Dedicated, so that nothing the run does with Django's own connection (closing it after an
    error, a restore closing them all) can drop the lock while the run goes on."""

    def __init__(self, catalog_alias: str, alias: str) -> None:
        self.connection = connections.create_connection(catalog_alias)
        self.key = lock_key(alias)

    def _query(self, sql: str) -> Any:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, [LOCK_CLASS, self.key])
            return cursor.fetchone()[0]

    def try_acquire(self) -> bool:
        return bool(self._query("SELECT pg_try_advisory_lock(%s, %s)"))

    def terminate_holder(self) -> bool:
        """End the server session that holds the lock (its client is gone without a word).
        Advisory locks belong to one database, pg_locks shows the whole cluster: only sessions
        of this catalog database are candidates."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM pg_locks "
                "WHERE locktype = 'advisory' AND objsubid = 2 AND granted "
                "AND classid = %s::oid AND objid = %s::oid AND pid <> pg_backend_pid() "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                [LOCK_CLASS, self.key],
            )
            return bool(cursor.fetchone()[0])

    def beat(self, record_pk: int) -> bool:
        """Refresh the record's heartbeat through the lock's own session: the session is then
        never idle (idle-session timeouts of servers and proxies would end it, and the lock with
        it), and a heartbeat proves the lock is still held. False: the record is no longer ours."""
        table = BackupRecord._meta.db_table
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET heartbeat_at = %s WHERE id = %s AND status = %s",
                [timezone.now(), record_pk, RUNNING],
            )
            return cursor.rowcount == 1

    def close(self) -> None:
        # Unlocked explicitly: a pooled connection (Django's pool) outlives close().
        try:
            self._query("SELECT pg_advisory_unlock(%s, %s)")
        except DatabaseError as exc:
            logger.warning("releasing the backup claim's lock failed: %s", exc)
        try:
            self.connection.close()
        except DatabaseError as exc:
            logger.warning("closing the backup claim's lock connection failed: %s", exc)


class Heartbeat(threading.Thread):
    """Refreshes a running record's ``heartbeat_at`` until stopped. A daemon: it must never keep
    a process alive on its own."""

    def __init__(self, record: BackupRecord, interval: float, lock: AdvisoryLock | None) -> None:
        super().__init__(name=f"nzila-heartbeat-{record.database_alias}", daemon=True)
        self.record = record
        self.interval = interval
        self.lock = lock
        self.stopping = threading.Event()

    def _beat(self) -> bool:
        if self.lock is not None:
            return self.lock.beat(self.record.pk)
        updated = BackupRecord.objects.filter(pk=self.record.pk, status=RUNNING).update(
            heartbeat_at=timezone.now()
        )
        return updated == 1

    def run(self) -> None:
        failing = False
        if self.lock is not None:
            self.lock.connection.inc_thread_sharing()  # the main thread made it; it waits
        try:
            while not self.stopping.wait(self.interval):
                try:
                    if not self._beat():
                        logger.error(
                            "backup %s: its claim was taken over by another run (its record is "
                            "no longer 'running'); this run goes on unclaimed",
                            self.record,
                        )
                        return
                    if failing:
                        logger.warning("backup %s: heartbeat written again", self.record)
                    failing = False
                except DatabaseError as exc:
                    if not failing:
                        logger.warning("backup %s: heartbeat not written: %s", self.record, exc)
                    failing = True
                    # Django reconnects only a connection it has closed: close it, so the next
                    # beat opens a fresh one (a server restart, a failover).
                    self._close_connection()
        finally:
            if self.lock is not None:
                self.lock.connection.dec_thread_sharing()
            else:
                connections.close_all()  # this thread's connections only

    def _close_connection(self) -> None:
        connection = self.lock.connection if self.lock is not None else None
        try:
            if connection is not None:
                connection.close()
            else:
                connections[router.db_for_write(BackupRecord)].close()
        except DatabaseError:
            pass

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=self.interval + 5)


@dataclass
class BackupClaim:
    """Held by a running backup; ``release()`` it when the run ends, whatever the outcome."""

    record: BackupRecord | None
    lock: AdvisoryLock | None = None
    heartbeat: Heartbeat | None = None

    def release(self) -> None:
        """Idempotent, and never raises: it runs in cleanup paths."""
        heartbeat, lock = self.heartbeat, self.lock
        self.heartbeat = self.lock = None
        try:
            if heartbeat is not None:
                heartbeat.stop()
        finally:
            if lock is not None:
                lock.close()


def heartbeat_expired_before(now: datetime) -> datetime:
    return now - timedelta(seconds=get_config()["BACKUP_HEARTBEAT_TIMEOUT_SECONDS"])


def _running(alias: str) -> Any:
    return BackupRecord.objects.filter(database_alias=alias, status=RUNNING)


def _silent_since(now: datetime) -> Q:
    """Running records whose run stopped its heartbeat (records without one: by start time)."""
    cutoff = heartbeat_expired_before(now)
    return Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)


def mark_dead(alias: str, now: datetime, reason: str, only_silent: bool) -> list[str]:
    """Mark failed the running records of ``alias`` whose run is known to be dead.
    Compare-and-update: two runs doing this at once cannot both take one record over."""
    dead = _running(alias)
    if only_silent:
        dead = dead.filter(_silent_since(now))
    names = []
    for record in dead:
        taken = (
            BackupRecord.objects.filter(pk=record.pk, status=RUNNING)
            .filter(_silent_since(now) if only_silent else Q())
            .update(status=BackupRecord.Status.FAILED, finished_at=now, error=reason)
        )
        if taken:
            names.append(record.name)
            logger.warning("backup %s of %s: %s", record.name, alias, reason)
    return names


def _skip_reason(alias: str) -> str:
    holder = _running(alias).first()
    described = f"{holder.name}, started {holder.started_at:%Y-%m-%d %H:%M:%S}" if holder else "?"
    return f"skipped: another backup of {alias!r} is running ({described})"


def _lock_for_catalog(alias: str) -> AdvisoryLock | None:
    catalog = router.db_for_write(BackupRecord)
    if connections[catalog].vendor != "postgresql":
        return None
    return AdvisoryLock(catalog, alias)


def _take_lock(alias: str, lock: AdvisoryLock, now: datetime) -> bool:
    """Take the advisory lock, ending a holder whose heartbeat has stopped."""
    if lock.try_acquire():
        return True
    if not _running(alias).filter(_silent_since(now)).exists():
        return False  # the holder is alive, or starting (its record is not written yet)
    if not lock.terminate_holder():
        return lock.try_acquire()
    logger.warning(
        "backup of %s: the run holding the claim sent no heartbeat for %s s; its "
        "database session was terminated",
        alias,
        get_config()["BACKUP_HEARTBEAT_TIMEOUT_SECONDS"],
    )
    # pg_terminate_backend() only signals the backend: the lock goes when it has exited.
    deadline = time.monotonic() + TERMINATION_WAIT_SECONDS
    while not lock.try_acquire():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def claim_backup(alias: str, fields: dict[str, Any], now: datetime) -> BackupClaim:
    """Claim ``alias`` for one run: write its running record (``fields``) and start its heartbeat.

    Raises BackupSkipped (after recording the skip) while another live run holds the claim.
    When the catalog cannot be written, the backup goes on unclaimed (storage is the truth;
    the catalog is rebuilt from manifests), and the claim's record is None."""
    config = get_config()
    lock = None
    try:
        lock = _lock_for_catalog(alias)
        if lock is not None and not _take_lock(alias, lock, now):
            lock.close()
            raise _skipped(alias, fields, now)
        cause = (
            "its run died (the process or its connection is gone)"
            if lock is not None
            else "its run stopped sending heartbeats (the process died)"
        )
        mark_dead(
            alias,
            now,
            f"{cause}; the claim was taken over by {fields['name']}",
            only_silent=lock is None,
        )
        try:
            with transaction.atomic():
                record = BackupRecord.objects.create(**fields, status=RUNNING, heartbeat_at=now)
        except IntegrityError:
            if lock is not None:
                lock.close()
            raise _skipped(alias, fields, now) from None
    except (OperationalError, InterfaceError) as exc:
        # The catalog lives in a database that may be the one failing, unreachable: the backup
        # is taken all the same (storage is the truth; the catalog is rebuilt from manifests).
        if lock is not None:
            lock.close()
        logger.warning("backup %s: cannot write the catalog row: %s", fields["name"], exc)
        return BackupClaim(record=None)
    except DatabaseError as exc:
        # Reachable but refusing (a permission, a missing table): running unclaimed could put
        # two dumps side by side, so this run stops.
        if lock is not None:
            lock.close()
        raise BackupError(f"cannot claim database {alias!r} in the backup catalog: {exc}") from None
    heartbeat = Heartbeat(record, config["BACKUP_HEARTBEAT_SECONDS"], lock)
    heartbeat.start()
    return BackupClaim(record=record, lock=lock, heartbeat=heartbeat)


def _skipped(alias: str, fields: dict[str, Any], now: datetime) -> BackupSkipped:
    reason = _skip_reason(alias)
    skip_fields = {k: v for k, v in fields.items() if k not in SKIPPED_OMITS}
    BackupRecord.objects.create(
        **skip_fields, status=BackupRecord.Status.SKIPPED, finished_at=timezone.now(), error=reason
    )
    logger.info("backup of %s %s", alias, reason)
    return BackupSkipped(reason)


# A skipped run wrote nothing: its row does not claim an object key or an encryption.
SKIPPED_OMITS = ("storage_key", "compression", "encryption_recipients")
