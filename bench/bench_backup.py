"""Benchmark `backup_database` against pg_dump baselines on generated databases.

Usage::

    python bench/bench_backup.py                       # nzila_bench_500 + nzila_bench_150
    python bench/bench_backup.py --dbname mydb --runs 5 --json-out bench.json
    python bench/bench_backup.py --rows a,b            # baselines only

Rows, each run ``--runs`` times (interleaved a, b, c, a, b, c, ... so that all rows see the
same cache and machine conditions) and reported as medians:

  a. floor: ``pg_dump -Fc -Z0 DB > /dev/null`` - the cost of just reading the data out
  b. gzip:  ``pg_dump DB | gzip -9 > F.sql.gz && sha256sum F.sql.gz`` - the original plan
  c. ours:  ``manage.py backup_database --json`` to a file:// store with age encryption
  d. native: ``pg_dump -Fc -Z0 | zstd -3 -T1 | age -r KEY | tee F | sha256sum`` - the same
     work done by the C tools by hand; no target, it shows what the work itself costs here

Page cache cannot be dropped here, so every database gets one untimed warm-up dump first:
all timed runs then read from a warm cache. The report always exits 0; targets print as
PASS/MISS. Memory figures are explained in ``_measure.py``; the targets use the sampled
tree sum. Row c needs ``manage.py migrate`` first (its catalog lives in the benchmarked
database), which is done untimed. Pass ``--workdir`` to keep the age identity
(``age-identity.txt``) that can decrypt row c's backups; by default the scratch dir is
deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _measure  # sibling modules: bench/ is not a package
import generate_db

REPO = Path(__file__).resolve().parent.parent
MANAGE_PY = REPO / "example_project" / "manage.py"
MB = 1024 * 1024

ROW_LABELS = {
    "a": "floor (pg_dump -Fc -Z0)",
    "b": "gzip -9 + sha256",
    "c": "ours",
    "d": "native zstd|age|sha256",
}

# Targets for row c.
WALL_VS_FLOOR = 1.15
RSS_LIMIT_MB = 100.0
# "Not growing with DB size": the bigger database may use at most this much more memory.
RSS_GROWTH_ABS_MB = 5.0
RSS_GROWTH_REL = 0.10


@dataclass
class RowResult:
    key: str
    runs: list[_measure.Measurement] = field(default_factory=list)
    error: str | None = None
    summary: dict[str, Any] | None = None  # ours: the command's JSON summary (last run)

    def median(self, attr: str) -> float | None:
        """Median over the successful runs (a failed dump's time or size means nothing)."""
        values = [getattr(m, attr) for m in self.runs if m.ok and getattr(m, attr) is not None]
        return statistics.median(values) if values else None


@dataclass
class DbResult:
    dbname: str
    size_bytes: int
    rows: dict[str, RowResult]


@dataclass(frozen=True)
class Context:
    server: generate_db.Server
    workdir: Path
    ours_env: dict[str, str] | None  # None when row c could not be prepared


ERROR_WORDS = ("error", "unknown command", "exception", "fatal", "failed", "not found")


def one_line(text: str) -> str:
    """The most telling single line of an error output.

    That is the last line naming an error (Django follows "Unknown command" with a usage
    hint; a traceback ends with the exception), else simply the last non-empty line.
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if any(w in line.lower() for w in ERROR_WORDS)]
    return (errors or lines or ["(no output)"])[-1]


def pg_args(server: generate_db.Server, dbname: str) -> str:
    args = ["-h", server.host, "-p", str(server.port), "-U", server.user, dbname]
    return shlex.join(args)


def floor_command(ctx: Context, dbname: str) -> str:
    return f"pg_dump -Fc -Z0 {pg_args(ctx.server, dbname)} > /dev/null"


def run_floor(ctx: Context, dbname: str, result: RowResult) -> None:
    result.runs.append(_measure.run(floor_command(ctx, dbname)))


def run_gzip(ctx: Context, dbname: str, result: RowResult) -> None:
    out = ctx.workdir / f"{dbname}.sql.gz"
    target = shlex.quote(str(out))
    command = f"pg_dump {pg_args(ctx.server, dbname)} | gzip -9 > {target} && sha256sum {target}"
    result.runs.append(_measure.run(command, output=out))
    out.unlink(missing_ok=True)  # only its size matters; don't let copies pile up


def parse_summary(stdout: str) -> dict[str, Any]:
    """The command's JSON summary: the whole stdout, or else its last JSON-looking line."""
    try:
        parsed = json.loads(stdout)
    except json.JSONDecodeError:
        candidates = [line for line in stdout.splitlines() if line.lstrip().startswith("{")]
        if not candidates:
            raise ValueError("no JSON summary on stdout") from None
        parsed = json.loads(candidates[-1])
    if not isinstance(parsed, dict):
        raise ValueError("JSON summary is not an object")
    return parsed


def run_ours(ctx: Context, dbname: str, result: RowResult) -> None:
    if ctx.ours_env is None or result.error:
        return  # not available, or already failed once: one clear error line is enough
    store = Path(tempfile.mkdtemp(prefix="store-", dir=ctx.workdir))
    env = {**ctx.ours_env, **ours_db_env(ctx.server, dbname, store)}
    argv = [sys.executable, str(MANAGE_PY), "backup_database", "--json"]
    measurement = _measure.run(argv, env=env, cwd=REPO)
    try:
        if not measurement.ok:
            raise ValueError(f"exit {measurement.returncode}: {one_line(measurement.stderr)}")
        result.summary = parse_summary(measurement.stdout)
        # What actually landed in the store, not just what the command claims.
        stored = _measure.dir_size(store)
        result.runs.append(replace(measurement, output_bytes=stored))
    except ValueError as exc:
        result.error = str(exc)
    finally:
        shutil.rmtree(store, ignore_errors=True)


def run_native(ctx: Context, dbname: str, result: RowResult) -> None:
    if ctx.ours_env is None or not shutil.which("age") or not shutil.which("zstd"):
        result.error = "needs the age and zstd CLIs and an age recipient"
        return
    out = ctx.workdir / f"{dbname}.pgdump.zst.age"
    target = shlex.quote(str(out))
    recipient = shlex.quote(ctx.ours_env["NZILA_OPS_AGE_RECIPIENTS"])
    command = (
        f"set -o pipefail; pg_dump -Fc -Z0 {pg_args(ctx.server, dbname)} | zstd -3 -T1 -q "
        f"| age -r {recipient} | tee {target} | sha256sum"
    )
    result.runs.append(_measure.run(["bash", "-c", command], output=out))
    out.unlink(missing_ok=True)


RUNNERS: dict[str, Callable[[Context, str, RowResult], None]] = {
    "a": run_floor,
    "b": run_gzip,
    "c": run_ours,
    "d": run_native,
}


def ours_db_env(server: generate_db.Server, dbname: str, store: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"postgres://{server.user}@{server.host}:{server.port}/{dbname}",
        "NZILA_OPS_BACKUP_STORAGE": f"file://{store}",
    }


def age_recipient(workdir: Path) -> str:
    """A fresh age X25519 recipient; the identity is kept in workdir to allow decrypting."""
    from pyrage import x25519  # imported lazily: only row c needs it

    identity = x25519.Identity.generate()
    key_file = workdir / "age-identity.txt"
    key_file.write_text(str(identity) + "\n")
    key_file.chmod(0o600)
    return str(identity.to_public())


def prepare_ours(
    server: generate_db.Server, dbnames: list[str], workdir: Path
) -> tuple[dict[str, str] | None, str | None]:
    """Env for row c after migrating every database, or (None, one-line reason)."""
    if not MANAGE_PY.exists():
        return None, f"{MANAGE_PY.relative_to(REPO)} does not exist yet"
    try:
        recipient = age_recipient(workdir)
    except ImportError:
        return None, "pyrage is not installed (pip install pyrage)"
    env = {**os.environ, "NZILA_OPS_AGE_RECIPIENTS": recipient}
    for dbname in dbnames:
        db_env = {**env, **ours_db_env(server, dbname, workdir / "migrate-store")}
        for argv in (["help", "backup_database"], ["migrate", "--no-input"]):
            check = _measure.run([sys.executable, str(MANAGE_PY), *argv], env=db_env, cwd=REPO)
            if not check.ok:
                return None, f"manage.py {argv[0]} {argv[1]} failed: {one_line(check.stderr)}"
    return env, None


def resolve_databases(args: argparse.Namespace, server: generate_db.Server) -> list[str]:
    """The --dbname list as given, or the --sizes databases, generated when missing."""
    if args.dbname:
        missing = [db for db in args.dbname if not generate_db.database_exists(server, db)]
        if missing:
            raise SystemExit(f"database(s) not found: {', '.join(missing)}")
        return list(args.dbname)
    names = []
    for size_mb in (int(s) for s in args.sizes.split(",")):
        result = generate_db.ensure_database(server, f"nzila_bench_{size_mb}", size_mb)
        verb = "reusing" if result.reused else f"generated in {result.seconds:.0f} s:"
        print(f"{verb} {result.dbname} ({result.size_bytes / MB:.0f} MB)")
        names.append(result.dbname)
    return names


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


def progress(row: RowResult) -> str:
    if row.error:
        return f"error: {row.error}"
    if not row.runs:
        return "skipped"
    m = row.runs[-1]
    status = "" if m.ok else f" FAILED: {one_line(m.stderr)}"
    return f"{m.wall_seconds:.2f} s, {m.tree_rss_mb:.0f} MB{status}"


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(results: list[DbResult]) -> None:
    header = (
        f"{'database':<18} {'row':<26} {'wall s':>8} {'min-max':>13} "
        f"{'maxRSS MB':>10} {'treeRSS MB':>11} {'output MB':>10}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for db in results:
        for key, row in db.rows.items():
            label = f"{key}. {ROW_LABELS[key]}"
            if not row.runs:
                print(f"{db.dbname:<18} {label:<26} {row.error or 'no runs'}")
                continue
            walls = [m.wall_seconds for m in row.runs]
            output = row.median("output_bytes")
            failed = sum(not m.ok for m in row.runs)
            print(
                f"{db.dbname:<18} {label:<26} {fmt(row.median('wall_seconds'), '8.2f')} "
                f"{f'{min(walls):.2f}-{max(walls):.2f}':>13} "
                f"{fmt(row.median('max_rss_mb'), '10.1f')} "
                f"{fmt(row.median('tree_rss_mb'), '11.1f')} "
                f"{fmt(None if output is None else output / MB, '10.1f')}"
                + (f"  ({failed} run(s) failed)" if failed else "")
                + (f"  (then: {row.error})" if row.error else "")
            )


@dataclass(frozen=True)
class Verdict:
    target: str
    passed: bool
    detail: str


def ratio_verdict(
    target: str, ours: float | None, ref: float | None, limit: float, unit: str = "s"
) -> Verdict:
    """PASS when ours / ref <= limit; values are shown in ``unit`` ("s" or "MB")."""
    if ours is None or ref is None or ref == 0:
        return Verdict(target, False, "no data")
    ratio = ours / ref
    scale = MB if unit == "MB" else 1
    detail = f"{ours / scale:.2f} {unit} / {ref / scale:.2f} {unit} = {ratio:.2f} (<= {limit})"
    return Verdict(target, ratio <= limit, detail)


def evaluate(results: list[DbResult]) -> list[Verdict]:
    verdicts = []
    for db in results:
        rows = db.rows
        ours = rows.get("c", RowResult("c"))
        floor = rows.get("a", RowResult("a"))
        gzip = rows.get("b", RowResult("b"))
        verdicts.append(
            ratio_verdict(
                f"{db.dbname}: ours wall <= {WALL_VS_FLOOR} x floor",
                ours.median("wall_seconds"),
                floor.median("wall_seconds"),
                WALL_VS_FLOOR,
            )
        )
        rss = ours.median("tree_rss_mb")
        verdicts.append(
            Verdict(
                f"{db.dbname}: ours peak RSS <= {RSS_LIMIT_MB:.0f} MB",
                rss is not None and rss <= RSS_LIMIT_MB,
                "no data" if rss is None else f"{rss:.1f} MB (sampled tree sum)",
            )
        )
        verdicts.append(
            ratio_verdict(
                f"{db.dbname}: ours output <= gzip -9 output",
                ours.median("output_bytes"),
                gzip.median("output_bytes"),
                1.0,
                unit="MB",
            )
        )
    verdicts.append(rss_growth_verdict(results))
    return verdicts


def rss_growth_verdict(results: list[DbResult]) -> Verdict:
    """Compare ours' memory on the smallest and the largest database."""
    target = "ours peak RSS not growing with DB size"
    measured = [
        (db.size_bytes, rss)
        for db in results
        if "c" in db.rows and (rss := db.rows["c"].median("tree_rss_mb")) is not None
    ]
    if len(measured) < 2:
        return Verdict(target, False, "needs ours results on two databases")
    (small_size, small_rss), (big_size, big_rss) = min(measured), max(measured)
    allowed = max(RSS_GROWTH_ABS_MB, RSS_GROWTH_REL * small_rss)
    detail = (
        f"{small_rss:.1f} MB @ {small_size / MB:.0f} MB DB -> {big_rss:.1f} MB @ "
        f"{big_size / MB:.0f} MB DB (allowed +{allowed:.1f} MB)"
    )
    return Verdict(target, big_rss - small_rss <= allowed, detail)


def print_verdicts(verdicts: list[Verdict]) -> None:
    print("\ntargets:")
    for v in verdicts:
        print(f"  {'PASS' if v.passed else 'MISS'}  {v.target}: {v.detail}")


def to_json(results: list[DbResult], verdicts: list[Verdict], runs: int) -> dict[str, Any]:
    def row_json(row: RowResult) -> dict[str, Any]:
        return {
            "label": ROW_LABELS[row.key],
            "error": row.error,
            "median": {
                attr: row.median(attr)
                for attr in ("wall_seconds", "max_rss_mb", "tree_rss_mb", "output_bytes")
            },
            "runs": [
                {
                    "wall_seconds": m.wall_seconds,
                    "max_rss_mb": m.max_rss_mb,
                    "tree_rss_mb": m.tree_rss_mb,
                    "output_bytes": m.output_bytes,
                    "returncode": m.returncode,
                }
                for m in row.runs
            ],
            "summary": row.summary,
        }

    return {
        "runs_per_row": runs,
        "databases": [
            {
                "dbname": db.dbname,
                "size_bytes": db.size_bytes,
                "rows": {key: row_json(row) for key, row in db.rows.items()},
            }
            for db in results
        ],
        "targets": [{"target": v.target, "pass": v.passed, "detail": v.detail} for v in verdicts],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dbname", action="append", help="database to back up (repeatable)")
    parser.add_argument(
        "--sizes",
        default="500,150",
        help="without --dbname: bench nzila_bench_<size> for each size in MB, generating it",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", default="a,b,c,d", help="subset of rows a,b,c,d to run")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--workdir", type=Path, help="scratch dir (default: a fresh temp dir)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    args = parser.parse_args(argv)
    args.rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = set(args.rows) - set(ROW_LABELS)
    if unknown:
        parser.error(f"unknown rows: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = generate_db.Server(args.host, args.port, args.user)
    dbnames = resolve_databases(args, server)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="nzila-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ours_env, ours_error = None, None
    if "c" in args.rows:
        ours_env, ours_error = prepare_ours(server, dbnames, workdir)
        if ours_error:
            print(f"row c (ours) will not run: {ours_error}")
    ctx = Context(server, workdir, ours_env)
    results = run_benchmark(ctx, dbnames, args.rows, args.runs)
    if ours_error:
        for db in results:
            db.rows["c"].error = ours_error
    print_table(results)
    verdicts = evaluate(results) if "c" in args.rows else []
    if verdicts:
        print_verdicts(verdicts)
    if args.json_out:
        args.json_out.write_text(json.dumps(to_json(results, verdicts, args.runs), indent=2))
        print(f"\nJSON written to {args.json_out}")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
