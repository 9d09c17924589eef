"""Create (or reuse) a PostgreSQL database of synthetic vehicle-export marketplace data.

Usage::

    python bench/generate_db.py --dbname nzila_bench_500 --size-mb 500
    python bench/generate_db.py --dbname nzila_bench_150 --size-mb 150 --zstd-report

All rows are generated server-side in batches of one ``INSERT ... SELECT`` statement
(vehicles -> deals -> payments, and a repetitive sync log per vehicle, chained through
data-modifying CTEs), by two connections in parallel, until ``pg_database_size`` reaches the
target (500 MB takes about a minute on 2 cores).

The marker table ``bench_meta(size_mb, generated_at)`` is created empty with the schema and
gets its row only when generation has finished (after VACUUM ANALYZE and a CHECKPOINT, so
later dumps read settled pages). A database whose marker matches ``--size-mb`` and whose
size is within ±10% is reused as is; an unfinished one is regenerated. A database without
the marker table is never dropped unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Sibling modules: bench/ is not a package. Server, database_exists and database_size are
# also used from here as generate_db.* by bench_backup.py and bench_restore.py.
from _fill import fill_to_size
from _market_sql import SCHEMA_SQL
from _pg_server import Server, database_exists, database_size

MB = 1024 * 1024
TOLERANCE = 0.10  # a reused or generated database must be within ±10% of the target size


@dataclass(frozen=True)
class Result:
    dbname: str
    size_bytes: int
    seconds: float
    reused: bool


def has_marker_table(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regclass('public.bench_meta')").fetchone()
    return row is not None and row[0] is not None


def marker_size_mb(conn: psycopg.Connection[Any]) -> int | None:
    """The size_mb recorded by a finished generation, or None if unfinished or not ours."""
    if not has_marker_table(conn):
        return None
    marker = conn.execute("SELECT size_mb FROM bench_meta LIMIT 1").fetchone()
    return None if marker is None else int(marker[0])


def within_tolerance(size_bytes: int, size_mb: int) -> bool:
    return abs(size_bytes / MB - size_mb) <= TOLERANCE * size_mb


def reusable_size(server: Server, dbname: str, size_mb: int) -> int | None:
    """The current size if the database is a finished generation of the right size."""
    if not database_exists(server, dbname):
        return None
    with server.connect(dbname) as conn:
        if marker_size_mb(conn) != size_mb:
            return None
        size = database_size(conn)
    return size if within_tolerance(size, size_mb) else None


def recreate_database(server: Server, dbname: str, force: bool) -> None:
    """Drop and create the database; refuse to drop one we did not generate unless forced."""
    if database_exists(server, dbname) and not force:
        with server.connect(dbname) as conn:
            if not has_marker_table(conn):
                raise SystemExit(
                    f"refusing to drop existing database {dbname!r}: it has no bench_meta "
                    "marker (pass --force to drop it anyway)"
                )
    ident = sql.Identifier(dbname)
    with server.connect("postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))


def finalize(server: Server, dbname: str, size_mb: int) -> int:
    """VACUUM so later reads do no hint-bit writes, then record the marker."""
    with server.connect(dbname) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")
        conn.execute("INSERT INTO bench_meta VALUES (%s, now())", (size_mb,))
        return database_size(conn)


def row_counts(server: Server, dbname: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with server.connect(dbname) as conn:
        for table in ("market_vehicle", "market_deal", "market_payment", "market_sync_log"):
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            counts[table] = int(row.fetchone()[0])  # type: ignore[index]
    return counts


def ensure_database(
    server: Server,
    dbname: str,
    size_mb: int,
    *,
    workers: int = 2,
    force: bool = False,
    regenerate: bool = False,
) -> Result:
    """Reuse a finished database of the right size, or generate it from scratch."""
    start = time.monotonic()
    size = None if regenerate else reusable_size(server, dbname, size_mb)
    if size is not None:
        return Result(dbname, size, time.monotonic() - start, reused=True)
    print(f"generating {dbname} ({size_mb} MB) ...", flush=True)
    recreate_database(server, dbname, force)
    with server.connect(dbname) as conn:
        conn.execute(SCHEMA_SQL)
    fill_to_size(server, dbname, size_mb * MB, workers)
    size = finalize(server, dbname, size_mb)
    return Result(dbname, size, time.monotonic() - start, reused=False)


def zstd_report(server: Server, dbname: str) -> tuple[int, int]:
    """(raw, compressed) bytes of `pg_dump -Fc -Z0 | zstd -3`, streamed without temp files."""
    dump = subprocess.Popen(
        [
            "pg_dump",
            "-Fc",
            "-Z0",
            "-h",
            server.host,
            "-p",
            str(server.port),
            "-U",
            server.user,
            dbname,
        ],
        stdout=subprocess.PIPE,
    )
    # `wc -c` only writes at EOF, so feeding zstd's stdin cannot deadlock on its stdout.
    zstd = subprocess.Popen(
        "zstd -3 -q -c | wc -c", shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert dump.stdout is not None and zstd.stdin is not None
    raw = 0
    while chunk := dump.stdout.read(1 << 20):
        raw += len(chunk)
        zstd.stdin.write(chunk)
    zstd.stdin.close()
    assert zstd.stdout is not None
    compressed = int(zstd.stdout.read())
    zstd.wait()
    if dump.wait() != 0:
        raise SystemExit(f"pg_dump of {dbname} failed")
    return raw, compressed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dbname", required=True)
    parser.add_argument("--size-mb", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--workers", type=int, default=2, help="parallel connections")
    parser.add_argument(
        "--force",
        action="store_true",
        help="drop an existing database even if it has no bench_meta marker",
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="regenerate even if a matching database exists"
    )
    parser.add_argument(
        "--zstd-report",
        action="store_true",
        help="also print the zstd -3 ratio of a pg_dump -Fc -Z0 of the database",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = Server(args.host, args.port, args.user)
    result = ensure_database(
        server,
        args.dbname,
        args.size_mb,
        workers=args.workers,
        force=args.force,
        regenerate=args.regenerate,
    )
    verb = "reused" if result.reused else "generated"
    print(
        f"{verb} {result.dbname}: {result.size_bytes / MB:.1f} MB "
        f"(target {args.size_mb} MB) in {result.seconds:.1f} s"
    )
    if not result.reused:
        counts = row_counts(server, args.dbname)
        print("  rows: " + ", ".join(f"{table}={n}" for table, n in counts.items()))
    if args.zstd_report:
        raw, compressed = zstd_report(server, args.dbname)
        print(
            f"  pg_dump -Fc -Z0: {raw / MB:.1f} MB, zstd -3: {compressed / MB:.1f} MB "
            f"(ratio {raw / compressed:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())


def resolve_databases(dbnames: list[str] | None, sizes: str, server: Server) -> list[str]:
    """The databases a bench runs on: ``dbnames`` as given (each must exist), or one per size in
    ``sizes`` ("150,500", MB), generated when missing and reused otherwise."""
    if dbnames:
        missing = [db for db in dbnames if not database_exists(server, db)]
        if missing:
            raise SystemExit(f"database(s) not found: {', '.join(missing)}")
        return list(dbnames)
    names = []
    for size_mb in (int(size) for size in sizes.split(",")):
        result = ensure_database(server, f"nzila_bench_{size_mb}", size_mb)
        verb = "reusing" if result.reused else f"generated in {result.seconds:.0f} s:"
        print(f"{verb} {result.dbname} ({result.size_bytes / (1 << 20):.0f} MB)", flush=True)
        names.append(result.dbname)
    return names
