"""Benchmark `restore_database` (all phases) against `pg_restore -j2` of the same dump, on two
database sizes, and the peak memory of its whole process tree on each.

Usage::

    python bench/bench_restore.py                  # nzila_bench_150 + nzila_bench_500
    python bench/bench_restore.py --sizes 500 --runs 1
    python bench/bench_restore.py --dbname DB --dbname DB2 --runs 7 --json-out restore.json

Databases ``nzila_bench_<size>`` are generated when missing (``generate_db.py``; they include a
repetitive sync-log table, the kind of data whose compression ratio once made a restore's
memory grow). Setup per database (untimed): `backup_database` to a local store; the stored
object is decrypted and decompressed with the age and zstd CLIs into a plain `pg_dump -Fc`
file, so both rows restore exactly the same dump.

Rows, interleaved (a, b, s, a, b, s, ...; ``--runs`` times, default 5, issue 16's standard)
and reported as medians:

  a. native: `age -d -i KEY OBJECT | zstd -d > dump.pgdump` (timed as "fetch"), then
     `createdb -T template0 X && pg_restore -j2 -d X dump.pgdump` (timed as "restore")
  b. ours: `manage.py restore_database --backup NAME --no-input --json` into a live database
     (an empty one, created before each run, so the swap phase has something to rename):
     fetch from storage + SHA-256 + age + zstd, pg_restore -j2 into a scratch database, exact
     row-count verification, swap
  s. start-up floor: `manage.py restore_database --help` with b's environment (Django sets up
     the host project and imports our command; nothing is done): the fixed part of b

Targets, per database: b <= 1.10 x a (issue 16); the peak RSS of b's process tree
(restore_database, its age decryption child, pg_restore and its workers: the sampled sum, see
``_restore_memory.py`` for the method; highest of the runs) <= 100 MB. Across the databases:
b / a grows at most 1.1 x from the smallest database to the largest (ratio of ratios, from
medians: time grows linearly, as the native tools' does), and that peak does not grow with the
database's size (the larger may use at most max(5 MB, 10 %) more). Under each b <= 1.10 x a
verdict, informative lines (``_startup_floor.py``): s against the seconds the target allows
over a, b minus s over a, and b's own phase seconds (fetch + restore + verify + swap, what a
worker already started spends) over a. The report always exits 0 and prints PASS/MISS. Each
summary ends with "where the time goes": b's busy seconds per stage (the command's
``stage_seconds``, medians), each as a share of the wall time and in MB/s (``_stages.py``),
beside a's own fetch and restore; and which process held what at the tree's peak.

``--dbname`` restores existing databases (``make bench-large`` passes its 5 GB one); their
database names are free: the bench's own live and baseline databases carry this run's pid.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _measure  # sibling modules: bench/ is not a package
import _restore_memory
import generate_db
from _bytecode import compile_bytecode
from _report import print_verdicts, write_json
from _restore_report import DbRestore, print_summary, to_json, verdicts

REPO = Path(__file__).resolve().parent.parent
MANAGE_PY = REPO / "example_project" / "manage.py"
# Memory peaks of a restore last seconds (the fetch phase, pg_restore's); sample often anyway.
SAMPLE_SECONDS = 0.05
# Per run of the bench, so that two benches on one server (bench-large beside bench) never meet.
LIVE = f"nzila_bench_restore_live_{os.getpid()}"
BASELINE = f"nzila_bench_restore_baseline_{os.getpid()}"


def drop(server: generate_db.Server, *names: str) -> None:
    with server.connect("postgres") as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        kept = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{LIVE}_%"]
        ).fetchall()
        for (name,) in kept:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MANAGE_PY), *args], env=env, capture_output=True, text=True
    )


@dataclass(frozen=True)
class Prepared:
    env: dict[str, str]  # for restore_database into LIVE
    name: str  # the backup
    stored: Path  # the object in the file store
    key: Path  # the age identity
    stored_size: int
    raw_size: int


def prepare(server: generate_db.Server, dbname: str, workdir: Path) -> Prepared:
    """Back up ``dbname`` with our command into a local file store."""
    from pyrage import x25519

    identity = x25519.Identity.generate()
    key = workdir / "identity.txt"
    key.write_text(f"{identity}\n")
    (workdir / "store").mkdir()
    url = f"postgres://{server.user}@{server.host}:{server.port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nzila_export_hub.settings",
        "NZILA_OPS_BACKUP_STORAGE": f"file://{workdir / 'store'}",
        "NZILA_OPS_AGE_RECIPIENTS": str(identity.to_public()),
        "NZILA_OPS_AGE_IDENTITY_FILE": str(key),
    }
    source_env = {**env, "DATABASE_URL": f"{url}/{dbname}"}
    compile_bytecode(REPO)  # as a deployed install has it (_bytecode.py)
    for args in (["migrate", "--no-input", "-v0"], ["backup_database", "--json"]):
        result = manage(source_env, *args)
        if result.returncode != 0:
            sys.exit(f"setup failed: manage.py {args[0]}: {result.stderr.strip()}")
    summary = json.loads(result.stdout)
    live_env = {**env, "DATABASE_URL": f"{url}/{LIVE}"}
    return Prepared(
        live_env,
        summary["name"],
        workdir / "store" / summary["key"],
        key,
        summary["stored_size"],
        summary["raw_size"],
    )


def run_baseline(server: generate_db.Server, prepared: Prepared, raw: Path) -> tuple[float, float]:
    """The native restore: (fetch seconds, restore seconds)."""
    drop(server, BASELINE)
    key, stored, out = (shlex.quote(str(p)) for p in (prepared.key, prepared.stored, raw))
    fetch = _measure.run(f"age -d -i {key} {stored} | zstd -d -q > {out}")
    conn = f"-h {server.host} -p {server.port} -U {server.user}"
    restore = _measure.run(
        f"createdb {conn} -T template0 {BASELINE} && "
        f"pg_restore {conn} -j2 --exit-on-error -d {BASELINE} {out}"
    )
    raw.unlink(missing_ok=True)
    drop(server, BASELINE)
    if not (fetch.ok and restore.ok):
        sys.exit(f"native restore failed: {fetch.stderr.strip()} {restore.stderr.strip()}")
    return fetch.wall_seconds, restore.wall_seconds


def run_ours(
    server: generate_db.Server, env: dict[str, str], name: str
) -> tuple[_restore_memory.TreeMemory, dict[str, Any]]:
    drop(server, LIVE)
    with server.connect("postgres") as conn:
        conn.execute(f'CREATE DATABASE "{LIVE}"')
    argv = [sys.executable, str(MANAGE_PY), "restore_database", "--backup", name]
    measurement = _restore_memory.run(
        [*argv, "--no-input", "--json"], env=env, cwd=REPO, interval=SAMPLE_SECONDS
    )
    outcome = json.loads(measurement.stdout) if measurement.ok else {}
    if not measurement.ok:
        print(f"  ours failed: {measurement.stderr.strip()[-300:]}", flush=True)
    drop(server, LIVE)
    return measurement, outcome


def run_startup_floor(env: dict[str, str]) -> _measure.Measurement:
    """``restore_database --help`` with ours' environment: Django sets up the host project and
    imports our command, then nothing is done; the fixed part of ours' time."""
    argv = [sys.executable, str(MANAGE_PY), "restore_database", "--help"]
    return _measure.run(argv, env=env, cwd=REPO)


def bench_database(server: generate_db.Server, dbname: str, runs: int) -> DbRestore:
    with server.connect(dbname) as conn:
        result = DbRestore(dbname, generate_db.database_size(conn))
    workdir = Path(tempfile.mkdtemp(prefix="nzila-bench-restore-"))
    try:
        prepared = prepare(server, dbname, workdir)
        result.raw_bytes, result.stored_bytes = prepared.raw_size, prepared.stored_size
        print(
            f"{dbname}: backup {prepared.name}; raw dump {result.raw_bytes / 1e6:.1f} MB, "
            f"stored {result.stored_bytes / 1e6:.1f} MB",
            flush=True,
        )
        for run in range(1, runs + 1):
            fetch, restore = run_baseline(server, prepared, workdir / "dump.pgdump")
            result.baseline.append(fetch + restore)
            result.baseline_fetch.append(fetch)
            result.baseline_restore.append(restore)
            print(
                f"  run {run}: a. native {fetch + restore:.2f} s (age|zstd {fetch:.2f}, "
                f"createdb+pg_restore -j2 {restore:.2f})",
                flush=True,
            )
            b, outcome = run_ours(server, prepared.env, prepared.name)
            if not b.ok:
                result.error = b.stderr.strip().splitlines()[-1] if b.stderr.strip() else "failed"
                return result
            result.ours.append(b.wall_seconds)
            result.tree_rss_mb.append(b.tree_rss_mb)
            result.max_rss_mb.append(b.max_rss_mb)
            result.at_peak_mb.append(b.at_peak_mb)
            result.by_process_mb.append(b.by_process_mb)
            result.phases.append(outcome["phase_seconds"])
            result.stage_runs.append(outcome.get("stage_seconds") or {})
            shown = ", ".join(f"{k} {v:.2f}" for k, v in outcome["phase_seconds"].items())
            print(
                f"  run {run}: b. restore_database {b.wall_seconds:.2f} s ({shown}), "
                f"tree {b.tree_rss_mb:.1f} MB ({_restore_memory.describe(b)}), "
                f"largest process {b.max_rss_mb:.1f} MB",
                flush=True,
            )
            if not result.floor_error:
                floor = run_startup_floor(prepared.env)
                if floor.ok:
                    result.startup_floor.append(floor.wall_seconds)
                    shown = f"{floor.wall_seconds:.2f} s"
                else:
                    # The restore's own figures still stand; the report says what is missing.
                    lines = floor.stderr.strip().splitlines() or [f"exit {floor.returncode}"]
                    result.floor_error = lines[-1]
                    shown = f"failed: {result.floor_error}"
                print(f"  run {run}: s. restore_database --help (floor) {shown}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        drop(server, BASELINE, LIVE)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dbname", action="append", help="database to restore (repeatable)")
    parser.add_argument(
        "--sizes",
        default="150,500",
        help="without --dbname: nzila_bench_<size> for each size in MB, generated if missing",
    )
    # Issue 16's standard: medians of at least 5 interleaved runs.
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    server = generate_db.Server()
    results = [
        bench_database(server, db, args.runs)
        for db in generate_db.resolve_databases(args.dbname, args.sizes, server)
    ]
    for db in results:
        print_summary(db)
    found = verdicts(results)
    print_verdicts(found)
    if args.json_out:
        write_json(args.json_out, to_json(results, found, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
