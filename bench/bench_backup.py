"""Benchmark `backup_database` against pg_dump baselines on generated databases.

Usage::

    python bench/bench_backup.py                       # nzila_bench_500 + nzila_bench_150
    python bench/bench_backup.py --dbname mydb --runs 7 --json-out bench.json
    python bench/bench_backup.py --rows a,b            # baselines only
    python bench/bench_backup.py --sizes 500 --rows a,c,d,e,f,s   # parallel dump too

Rows, each run ``--runs`` times (default 5, issue 16's standard; interleaved a, b, c, d, s,
a, b, ... so that all rows see the same cache and machine conditions), reported as medians:

  a. floor: ``pg_dump -Fc -Z0 DB > /dev/null`` - the cost of just reading the data out
  b. gzip:  ``pg_dump DB | gzip -9 > F.sql.gz && sha256sum F.sql.gz`` - the original plan
  c. ours:  ``manage.py backup_database --json`` to a file:// store with age encryption
  d. native: ``pg_dump -Fc -Z0 | zstd -3 -T1 | age -r KEY | tee F | sha256sum`` - the same
     work done by the C tools by hand; the target: c <= 1.10 x d (issue 16)
  e. (opt-in) ``pg_dump -Fd -j N -Z0 -f DIR`` - the parallel dump alone, beside row a
  f. (opt-in) ``pg_dump -Fd -j N -f DIR && tar -cf - -C DIR . | age | tee F | sha256sum`` -
     a parallel backup with the directory format (gzip in pg_dump's workers), beside row d
  s. start-up floor: ``manage.py backup_database --help`` with row c's environment (Django sets
     up the host project and imports our command; nothing is done) - the fixed part of row c

Page cache cannot be dropped here, so every database gets one untimed warm-up dump first: all
timed runs then read from a warm cache. The report always exits 0; targets print as PASS/MISS.
Under the c <= 1.10 x d verdict, informative lines (``_startup_floor.py``): row s against the
seconds the target allows over native, c minus s over d, and c's own ``duration_seconds`` (what
a worker, already started, spends) over d. After the table, "where the time goes": row c's busy
seconds per stage (the command's ``stage_seconds``, medians), each as a share of the wall time
and in MB/s (``_stages.py``). Memory figures are explained in ``_measure.py``; the targets use
the sampled tree sum. Row c needs ``manage.py migrate`` first (its catalog lives in the
benchmarked database), which is done untimed. Pass ``--workdir`` to keep the age identity
(``age-identity.txt``) that can decrypt row c's backups; by default the scratch dir is deleted
at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _measure  # sibling modules: bench/ is not a package
import generate_db
from _backup_report import evaluate, print_stages, print_table, to_json
from _backup_rows import (
    OURS_ROWS,
    ROW_LABELS,
    RUNNERS,
    Context,
    DbResult,
    RowResult,
    floor_command,
    one_line,
    prepare_ours,
)
from _report import print_verdicts, write_json

MB = 1024 * 1024


def db_size(server: generate_db.Server, dbname: str) -> int:
    with server.connect(dbname) as conn:
        return generate_db.database_size(conn)


def warm_up(ctx: Context, dbname: str) -> None:
    """One untimed dump so the timed runs all read from the OS page cache."""
    m = _measure.run(floor_command(ctx, dbname))
    status = "ok" if m.ok else f"FAILED: {one_line(m.stderr)}"
    print(f"warm-up {dbname}: {m.wall_seconds:.1f} s {status}", flush=True)


def run_benchmark(ctx: Context, dbnames: list[str], rows: list[str], runs: int) -> list[DbResult]:
    results = []
    for dbname in dbnames:
        warm_up(ctx, dbname)
        per_row = {key: RowResult(key) for key in rows}
        for i in range(runs):
            for key in rows:
                RUNNERS[key](ctx, dbname, per_row[key])
                print(f"  {dbname} run {i + 1}/{runs} row {key}: {progress(per_row[key])}")
        results.append(DbResult(dbname, db_size(ctx.server, dbname), per_row))
    return results


def run_rows(
    server: generate_db.Server, dbnames: list[str], workdir: Path, rows: list[str], runs: int
) -> list[DbResult]:
    """The chosen rows on each database; rows c and s (ours) need the host project set up
    first, and if that fails they are reported with the reason instead of run."""
    ours_env, ours_error = None, None
    ours_rows = [key for key in rows if key in OURS_ROWS]
    if ours_rows:
        ours_env, ours_error = prepare_ours(server, dbnames, workdir)
        if ours_error:
            print(f"rows {', '.join(ours_rows)} (ours) will not run: {ours_error}")
    results = run_benchmark(Context(server, workdir, ours_env), dbnames, rows, runs)
    if ours_error:
        for db in results:
            for key in ours_rows:
                db.rows[key].error = ours_error
    return results


def progress(row: RowResult) -> str:
    if row.error:
        return f"error: {row.error}"
    if not row.runs:
        return "skipped"
    m = row.runs[-1]
    status = "" if m.ok else f" FAILED: {one_line(m.stderr)}"
    return f"{m.wall_seconds:.2f} s, {m.tree_rss_mb:.0f} MB{status}"


def add_server_args(parser: argparse.ArgumentParser) -> None:
    """The options bench_backup.py and bench_large.py share: the server, scratch dir, JSON out."""
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--workdir", type=Path, help="scratch dir (default: a fresh temp dir)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")


def chosen_rows(parser: argparse.ArgumentParser, text: str) -> list[str]:
    """--rows "a, c" as ["a", "c"]; an unknown row ends the run with a usage error."""
    rows = [r.strip() for r in text.split(",") if r.strip()]
    unknown = set(rows) - set(ROW_LABELS)
    if unknown:
        parser.error(f"unknown rows: {', '.join(sorted(unknown))}")
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dbname", action="append", help="database to back up (repeatable)")
    parser.add_argument(
        "--sizes",
        default="500,150",
        help="without --dbname: bench nzila_bench_<size> for each size in MB, generating it",
    )
    # Issue 16's standard: medians of at least 5 interleaved runs.
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", default="a,b,c,d,s", help="rows to run, of a,b,c,d,e,f,s")
    add_server_args(parser)
    args = parser.parse_args(argv)
    args.rows = chosen_rows(parser, args.rows)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = generate_db.Server(args.host, args.port, args.user)
    dbnames = generate_db.resolve_databases(args.dbname, args.sizes, server)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="nzila-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = run_rows(server, dbnames, workdir, args.rows, args.runs)
    print_table(results)
    print_stages(results)
    verdicts = evaluate(results) if "c" in args.rows else []
    if verdicts:
        print_verdicts(verdicts)
    if args.json_out:
        write_json(args.json_out, to_json(results, verdicts, args.runs))
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
