"""Benchmark `restore_database` (all phases) against `pg_restore -j2` of the same dump.

Usage::

    python bench/bench_restore.py                  # on nzila_bench_500 (generated if missing)
    python bench/bench_restore.py --dbname DB --runs 3 --json-out restore.json

Setup (untimed): `backup_database` of the source database to a local store; the stored object
is decrypted and decompressed with the age and zstd CLIs into a plain `pg_dump -Fc` file, so
both rows restore exactly the same dump.

Rows, interleaved (a, b, a, b, ...) and reported as medians:

  a. baseline: `createdb -T template0 X && pg_restore -j2 -d X dump.pgdump` from the local file
  b. ours: `manage.py restore_database --backup NAME --no-input --json` into a live database
     (an empty one, created before each run, so the swap phase has something to rename):
     fetch from storage + SHA-256 + age + zstd, pg_restore -j2 into a scratch database, exact
     row-count verification, swap

Target: b <= 1.25 x a. The report always exits 0 and prints PASS/MISS and ours' phase times.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _measure  # sibling modules: bench/ is not a package
import generate_db

REPO = Path(__file__).resolve().parent.parent
MANAGE_PY = REPO / "example_project" / "manage.py"
TARGET_RATIO = 1.25
LIVE = "nzila_bench_restore_live"
BASELINE = "nzila_bench_restore_baseline"


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


def prepare(server: generate_db.Server, dbname: str, workdir: Path) -> tuple[dict, str, Path]:
    """Back up ``dbname`` with our command; return (env for restores, backup name, raw dump)."""
    from pyrage import x25519

    identity = x25519.Identity.generate()
    key = workdir / "identity.txt"
    key.write_text(f"{identity}\n")
    url = f"postgres://{server.user}@{server.host}:{server.port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nzila_export_hub.settings",
        "NZILA_OPS_BACKUP_STORAGE": f"file://{workdir / 'store'}",
        "NZILA_OPS_AGE_RECIPIENTS": str(identity.to_public()),
        "NZILA_OPS_AGE_IDENTITY_FILE": str(key),
    }
    source_env = {**env, "DATABASE_URL": f"{url}/{dbname}"}
    for args in (["migrate", "--no-input", "-v0"], ["backup_database", "--json"]):
        result = manage(source_env, *args)
        if result.returncode != 0:
            sys.exit(f"setup failed: manage.py {args[0]}: {result.stderr.strip()}")
    summary = json.loads(result.stdout)
    stored = workdir / "store" / summary["key"]
    raw = workdir / "dump.pgdump"
    subprocess.run(
        f"age -d -i {shlex.quote(str(key))} {shlex.quote(str(stored))} | zstd -d -q > "
        f"{shlex.quote(str(raw))}",
        shell=True,
        check=True,
    )
    live_env = {**env, "DATABASE_URL": f"{url}/{LIVE}"}
    return live_env, summary["name"], raw


def run_baseline(server: generate_db.Server, raw: Path) -> _measure.Measurement:
    drop(server, BASELINE)
    conn = f"-h {server.host} -p {server.port} -U {server.user}"
    command = (
        f"createdb {conn} -T template0 {BASELINE} && "
        f"pg_restore {conn} -j2 --exit-on-error -d {BASELINE} {shlex.quote(str(raw))}"
    )
    measurement = _measure.run(command)
    drop(server, BASELINE)
    return measurement


def run_ours(
    server: generate_db.Server, env: dict[str, str], name: str
) -> tuple[_measure.Measurement, dict[str, Any]]:
    drop(server, LIVE)
    with server.connect("postgres") as conn:
        conn.execute(f'CREATE DATABASE "{LIVE}"')
    argv = [sys.executable, str(MANAGE_PY), "restore_database", "--backup", name]
    measurement = _measure.run([*argv, "--no-input", "--json"], env=env, cwd=REPO)
    outcome = json.loads(measurement.stdout) if measurement.ok else {}
    if not measurement.ok:
        print(f"  ours failed: {measurement.stderr.strip()[-300:]}", flush=True)
    drop(server, LIVE)
    return measurement, outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dbname", default="nzila_bench_500")
    parser.add_argument("--size-mb", type=int, default=500, help="size when generating it")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    server = generate_db.Server()
    generate_db.ensure_database(server, args.dbname, args.size_mb)
    workdir = Path(tempfile.mkdtemp(prefix="nzila-bench-restore-"))
    try:
        env, name, raw = prepare(server, args.dbname, workdir)
        print(f"backup {name}; raw dump {raw.stat().st_size / 1e6:.1f} MB", flush=True)
        baseline: list[float] = []
        ours: list[float] = []
        phases: list[dict[str, float]] = []
        rss: list[float] = []
        for run in range(1, args.runs + 1):
            a = run_baseline(server, raw)
            baseline.append(a.wall_seconds)
            print(f"  run {run}: a. pg_restore -j2 {a.wall_seconds:.2f} s", flush=True)
            b, outcome = run_ours(server, env, name)
            if not b.ok:
                return 0
            ours.append(b.wall_seconds)
            rss.append(b.tree_rss_mb)
            phases.append(outcome["phase_seconds"])
            shown = ", ".join(f"{k} {v:.2f}" for k, v in outcome["phase_seconds"].items())
            print(f"  run {run}: b. restore_database {b.wall_seconds:.2f} s ({shown})", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        drop(server, BASELINE, LIVE)
    a_median, b_median = statistics.median(baseline), statistics.median(ours)
    phase_medians = {k: statistics.median(p[k] for p in phases) for k in phases[0]}
    ratio = b_median / a_median
    verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
    print(f"\n{args.dbname}: pg_restore -j2 {a_median:.2f} s | restore_database {b_median:.2f} s")
    print("  phases (median): " + ", ".join(f"{k} {v:.2f} s" for k, v in phase_medians.items()))
    print(f"  peak RSS of restore_database's process tree: {statistics.median(rss):.0f} MB")
    print(
        f"  {verdict}: restore_database / pg_restore -j2 = {ratio:.2f} (target <= {TARGET_RATIO})"
    )
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {
                    "dbname": args.dbname,
                    "baseline_seconds": baseline,
                    "ours_seconds": ours,
                    "ours_phase_seconds": phases,
                    "ratio": ratio,
                    "verdict": verdict,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
