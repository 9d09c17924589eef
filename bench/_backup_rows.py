"""The rows of the backup benchmark: how each one dumps a database and what it records.

Row c (ours) runs ``manage.py backup_database`` and row s its start-up floor (``backup_database
--help``); both need :func:`prepare_ours` first. The others are shell pipelines of the
PostgreSQL and compression CLIs. ``bench_backup.py`` describes what each row stands for.
"""

from __future__ import annotations

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

import _measure  # sibling modules: bench/ is not a package
from _bytecode import compile_bytecode
from _pg_server import Server

REPO = Path(__file__).resolve().parent.parent
MANAGE_PY = REPO / "example_project" / "manage.py"

ROW_LABELS = {
    "a": "floor (pg_dump -Fc -Z0)",
    "b": "gzip -9 + sha256",
    "c": "ours",
    "d": "native zstd|age|sha256",
    "e": "parallel dump -Fd -j N",
    "f": "-Fd -j N gzip, tar|age|sha",
    "s": "start-up floor (--help)",
}
#: The rows that run our command and need its host project set up (:func:`prepare_ours`).
OURS_ROWS = ("c", "s")
#: Rows e and f: pg_dump's parallel jobs, one per core (2 on the bench machines).
DUMP_JOBS = os.cpu_count() or 2


@dataclass
class RowResult:
    key: str
    runs: list[_measure.Measurement] = field(default_factory=list)
    error: str | None = None
    summary: dict[str, Any] | None = None  # ours: the command's JSON summary (last run)
    stage_runs: list[dict[str, float]] = field(default_factory=list)  # ours: per run
    #: Ours, per run: the summary's duration_seconds, the backup without the process start-up.
    in_process_seconds: list[float] = field(default_factory=list)

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
    server: Server
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


def pg_args(server: Server, dbname: str) -> str:
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
        result.stage_runs.append(result.summary.get("stage_seconds") or {})
        if result.summary.get("duration_seconds") is not None:
            result.in_process_seconds.append(float(result.summary["duration_seconds"]))
        # What actually landed in the store, not just what the command claims.
        stored = _measure.dir_size(store)
        result.runs.append(replace(measurement, output_bytes=stored))
    except ValueError as exc:
        result.error = str(exc)
    finally:
        shutil.rmtree(store, ignore_errors=True)


def run_startup_floor(ctx: Context, dbname: str, result: RowResult) -> None:
    """Row s: ``backup_database --help`` with row c's environment. Django sets up the host
    project and imports our command, then nothing is done: the fixed part of row c's time."""
    if ctx.ours_env is None or result.error:
        return
    # The store is never touched by --help; the URL only keeps the environment row c's.
    env = {**ctx.ours_env, **ours_db_env(ctx.server, dbname, ctx.workdir / "floor-store")}
    argv = [sys.executable, str(MANAGE_PY), "backup_database", "--help"]
    measurement = _measure.run(argv, env=env, cwd=REPO)
    if not measurement.ok:
        result.error = f"exit {measurement.returncode}: {one_line(measurement.stderr)}"
        return
    result.runs.append(measurement)


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


def run_parallel_floor(ctx: Context, dbname: str, result: RowResult) -> None:
    """Row e: the directory format's parallel dump alone, to set beside row a."""
    out = ctx.workdir / f"{dbname}.dir"
    shutil.rmtree(out, ignore_errors=True)
    command = (
        f"pg_dump -Fd -j {DUMP_JOBS} -Z0 -f {shlex.quote(str(out))} {pg_args(ctx.server, dbname)}"
    )
    result.runs.append(_measure.run(command))
    shutil.rmtree(out, ignore_errors=True)


def run_parallel_native(ctx: Context, dbname: str, result: RowResult) -> None:
    """Row f: the parallel dump compressing in its workers (gzip: pg_dump 15 has no zstd),
    then one encrypted, hashed object of the directory (tar | age), as row d does for -Fc."""
    if ctx.ours_env is None or not shutil.which("age"):
        result.error = "needs the age CLI and an age recipient"
        return
    out = ctx.workdir / f"{dbname}.dir"
    shutil.rmtree(out, ignore_errors=True)
    stored = ctx.workdir / f"{dbname}.dir.tar.age"
    recipient = shlex.quote(ctx.ours_env["NZILA_OPS_AGE_RECIPIENTS"])
    directory, target = shlex.quote(str(out)), shlex.quote(str(stored))
    command = (
        f"pg_dump -Fd -j {DUMP_JOBS} -f {directory} {pg_args(ctx.server, dbname)} && "
        f"tar -cf - -C {directory} . | age -r {recipient} | tee {target} | sha256sum"
    )
    result.runs.append(_measure.run(command, output=stored))
    shutil.rmtree(out, ignore_errors=True)
    stored.unlink(missing_ok=True)


RUNNERS: dict[str, Callable[[Context, str, RowResult], None]] = {
    "a": run_floor,
    "b": run_gzip,
    "c": run_ours,
    "d": run_native,
    "e": run_parallel_floor,
    "f": run_parallel_native,
    "s": run_startup_floor,
}


def ours_db_env(server: Server, dbname: str, store: Path) -> dict[str, str]:
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
    server: Server, dbnames: list[str], workdir: Path
) -> tuple[dict[str, str] | None, str | None]:
    """Env for row c after migrating every database, or (None, one-line reason)."""
    if not MANAGE_PY.exists():
        return None, f"{MANAGE_PY.relative_to(REPO)} does not exist yet"
    compile_bytecode(REPO)  # as a deployed install has it (_bytecode.py)
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
