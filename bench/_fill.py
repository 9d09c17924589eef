"""Fill a freshly created bench database to a target size with parallel batch inserts."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import _vocab as vocab  # sibling modules: bench/ is not a package
import psycopg
from _market_sql import BATCH_SQL, install_helpers
from _pg_server import Server, database_size

MB = 1024 * 1024
BATCH_FRACTION = 0.012  # each batch adds ~1.2% of the target, bounding the overshoot
CALIBRATION_VEHICLES = 1000


def open_worker(server: Server, dbname: str) -> psycopg.Connection[Any]:
    conn = server.connect(dbname)
    # Durability of each batch is irrelevant here (a crash means regenerate); skipping the
    # WAL flush per commit saves a little time.
    conn.execute("SET synchronous_commit = off")
    # The planner wildly overestimates the CTE row counts, which triggers JIT compilation
    # costing ~1 s per batch - more than the batch itself.
    conn.execute("SET jit = off")
    install_helpers(conn)
    return conn


def insert_batch(conn: psycopg.Connection[Any], n_vehicles: int) -> None:
    conn.execute(BATCH_SQL, {"n": n_vehicles, "n_models": len(vocab.MAKE_MODELS)})


def calibrate(server: Server, dbname: str) -> float:
    """Bytes one vehicle (with its deals, payments and index entries) adds to the database."""
    with open_worker(server, dbname) as conn:
        before = database_size(conn)
        insert_batch(conn, CALIBRATION_VEHICLES)
        return max(1.0, (database_size(conn) - before) / CALIBRATION_VEHICLES)


def fill_worker(
    server: Server, dbname: str, stop_bytes: int, batch: int, progress: _Progress
) -> None:
    with open_worker(server, dbname) as conn:
        while (size := database_size(conn)) < stop_bytes:
            progress.report(size)
            insert_batch(conn, batch)


class _Progress:
    """Prints a line each time another ~10% of the target is reached (threads share it)."""

    def __init__(self, target_bytes: int) -> None:
        self._target = target_bytes
        self._lock = threading.Lock()
        self._next_decile = 1
        self._start = time.monotonic()

    def report(self, size: int) -> None:
        with self._lock:
            if size * 10 < self._next_decile * self._target:
                return
            self._next_decile = size * 10 // self._target + 1
            elapsed = time.monotonic() - self._start
            print(
                f"  {size / MB:7.1f} / {self._target / MB:.0f} MB  ({elapsed:5.1f} s)", flush=True
            )


def fill_to_size(server: Server, dbname: str, target_bytes: int, workers: int) -> None:
    per_vehicle = calibrate(server, dbname)
    batch = max(200, int(target_bytes * BATCH_FRACTION / per_vehicle))
    # Each worker can be mid-batch when the target is crossed; stop early by half of that.
    stop_bytes = int(target_bytes - workers * batch * per_vehicle / 2)
    print(f"  ~{per_vehicle:.0f} B/vehicle, batches of {batch} vehicles, {workers} workers")
    progress = _Progress(target_bytes)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(fill_worker, server, dbname, stop_bytes, batch, progress)
            for _ in range(workers)
        ]
        for future in futures:
            future.result()  # re-raise any worker error
