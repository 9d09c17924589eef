"""Where an admin restore's progress lives while it runs: Django's cache, not the database.

The swap replaces the very database that holds the admin's rows (and its sessions), so a
progress row written there during the restore would vanish with it. The worker writes the
progress to the cache (shared Redis in production; a process-local cache is flagged by the
system check nzila_ops.W006), keyed by a random request id; the restore page reads it there.

One restore per database at a time: a claim in the cache, taken atomically with ``cache.add``
and kept alive by a heartbeat while the task runs, so a killed worker's claim expires after
CLAIM_SECONDS. The advisory lock taken by restore_database stays the last guard.
"""

from __future__ import annotations

import copy
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.core.cache import caches
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from nzila_ops.progress import Progress

#: The phases restore_database reports, in order.
PHASES = ("fetch", "restore", "verify", "swap")
#: A claim not refreshed for this long belongs to a dead worker and frees itself.
CLAIM_SECONDS = 120
#: Until a worker takes the task (the queue may be busy): a lost message frees it after this.
QUEUED_CLAIM_SECONDS = 600
HEARTBEAT_SECONDS = 15
#: How long a finished restore's outcome stays readable on its page.
KEEP_SECONDS = 24 * 3600
#: Bytes are written at most this often (phase changes are written at once).
WRITE_INTERVAL_SECONDS = 0.5
REQUEST_ID = re.compile(r"[0-9a-f]{32}")
FINISHED = ("succeeded", "failed", "lost")
LOST = (
    "the worker running this restore stopped answering (killed or restarted): the restore's "
    "history (RestoreRecord) and the pre_restore_databases command tell what it left"
)


def _cache() -> Any:
    return caches["default"]


def new_request_id() -> str:
    return secrets.token_hex(16)


def _progress_key(request_id: str) -> str:
    return f"nzila_ops:restore:progress:{request_id}"


def _claim_key(database: str) -> str:
    # Hashed: an alias is any string a host chose, a cache key must be short and plain.
    return f"nzila_ops:restore:claim:{hashlib.sha256(database.encode()).hexdigest()[:32]}"


def claim_restore(database: str, request_id: str) -> str | None:
    """Take the one claim of ``database``: None when taken, else the request id of the restore
    that holds it (atomic: two operators pressing at once cannot both get it)."""
    if _cache().add(_claim_key(database), request_id, QUEUED_CLAIM_SECONDS):
        return None
    return running_restore(database) or "unknown"


def running_restore(database: str) -> str | None:
    """The request id of the restore of ``database`` that holds the claim, if any."""
    holder = _cache().get(_claim_key(database))
    return holder if isinstance(holder, str) else None


def release_claim(database: str, request_id: str) -> None:
    # Only our own: a claim that expired and was taken by another restore stays theirs.
    if running_restore(database) == request_id:
        _cache().delete(_claim_key(database))


@contextmanager
def claim_heartbeat(
    database: str,
    request_id: str,
    every: float = HEARTBEAT_SECONDS,
    progress: CacheProgress | None = None,
) -> Iterator[None]:
    """Keep the claim alive while the restore runs (pg_restore can be silent for minutes),
    then release it. A killed worker stops beating and its claim expires.

    A claim gone while the restore runs (the cache flushed, or the key evicted under memory
    pressure) is taken again at the next beat: left missing, a second restore could claim the
    database meanwhile (the advisory lock would still refuse it, but only once it ran). So is
    ``progress``'s state, as its worker last wrote it: left missing until the next phase, the
    page would take the running restore for an unknown one."""
    stop = threading.Event()

    def beat() -> None:
        cache = _cache()  # this thread's own connection
        key = _claim_key(database)
        try:
            while not stop.wait(every):
                holder = cache.get(key)
                if holder == request_id:
                    cache.touch(key, CLAIM_SECONDS)
                elif holder is None:
                    cache.add(key, request_id, CLAIM_SECONDS)
                if progress is not None:
                    # add, not set: a newer state the worker writes meanwhile stays.
                    cache.add(_progress_key(request_id), progress.written, KEEP_SECONDS)
        finally:
            cache.close()

    thread = threading.Thread(target=beat, name=f"restore-claim-{request_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        release_claim(database, request_id)


def read_progress(request_id: str) -> dict[str, Any] | None:
    """The restore's state; "lost" when it is unfinished, no longer holds its claim (its
    worker was killed and the heartbeat stopped) and has written nothing for CLAIM_SECONDS.

    A missing claim alone is not enough: a flushed or evicted claim comes back at the next
    heartbeat, while the restore goes on."""
    if not REQUEST_ID.fullmatch(request_id):
        return None
    state = _cache().get(_progress_key(request_id))
    if not isinstance(state, dict):
        return None
    if (
        state["state"] not in FINISHED
        and running_restore(state["database"]) != request_id
        and _stale(state)
    ):
        return {**state, "state": "lost", "error": LOST}
    return state


def _stale(state: dict[str, Any]) -> bool:
    updated = parse_datetime(state.get("updated_at") or "")
    return updated is None or timezone.now() - updated > timedelta(seconds=CLAIM_SECONDS)


def new_progress(request_id: str, **facts: Any) -> dict[str, Any]:
    """The state of a restore that was asked for and queued, not yet started."""
    state: dict[str, Any] = {
        "request_id": request_id,
        "state": "queued",
        "phases": [
            {"name": name, "state": "pending", "started_at": None, "seconds": None}
            for name in PHASES
        ],
        "bytes_done": 0,
        "bytes_total": None,
        "kept": "",
        "target": "",
        "error": "",
        **facts,
    }
    write_progress(state)
    return state


def write_progress(state: dict[str, Any]) -> None:
    state["updated_at"] = timezone.now().isoformat()
    _cache().set(_progress_key(state["request_id"]), state, KEEP_SECONDS)


class CacheProgress(Progress):
    """The restore's progress, written to the cache for the restore page: each phase as it
    starts (at once), bytes at most every WRITE_INTERVAL_SECONDS, then the outcome."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        #: A copy of the state as last written (the state given was): what the heartbeat
        #: puts back if the cache loses it, read from its thread while this one writes on.
        self.written = copy.deepcopy(state)
        self.phase_started = 0.0
        self.last_write = 0.0

    def start(self) -> None:
        self.state["state"] = "running"
        self._write()

    def phase(self, name: str) -> None:
        self._end_phase("done")
        now = time.monotonic()
        self.phase_started = now
        for entry in self.state["phases"]:
            if entry["name"] == name:
                entry.update(state="running", started_at=timezone.now().isoformat())
        self.state.update(bytes_done=0, bytes_total=None)
        self._write()

    def advance(self, done_bytes: int, total_bytes: int | None = None) -> None:
        self.state.update(bytes_done=done_bytes, bytes_total=total_bytes)
        if time.monotonic() - self.last_write >= WRITE_INTERVAL_SECONDS:
            self._write()

    def succeeded(self, kept: str, target: str) -> None:
        self._end_phase("done")
        self.state.update(state="succeeded", kept=kept, target=target)
        self._write()

    def failed(self, error: str) -> None:
        self._end_phase("failed")
        self.state.update(state="failed", error=error)
        self._write()

    def _end_phase(self, outcome: str) -> None:
        for entry in self.state["phases"]:
            if entry["state"] == "running":
                entry.update(state=outcome, seconds=round(time.monotonic() - self.phase_started, 1))

    def _write(self) -> None:
        self.last_write = time.monotonic()
        write_progress(self.state)
        self.written = copy.deepcopy(self.state)
