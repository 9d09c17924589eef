"""Setup of the health benchmark: its own virtualenv, wrk and the migrated database.

Everything here is untimed and reused by later runs; any failure is a :class:`SetupError`
saying in one line why the benchmark cannot run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BENCH_VENV = REPO / ".bench-venv"
BENCH_PYTHON = BENCH_VENV / "bin" / "python"
GUNICORN = BENCH_VENV / "bin" / "gunicorn"
BENCH_PACKAGES = ["gunicorn", "django-health-check[redis]"]
VERSIONS_OF = ["django-health-check", "django", "gunicorn", "redis", "psycopg"]
DBNAME = "nzila_bench_health"


class SetupError(Exception):
    """The benchmark cannot run: one line saying why."""


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a setup command; SetupError with the end of its output when it fails."""
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise SetupError(f"{' '.join(argv[:4])} ... failed: {' | '.join(tail)}")
    return proc


def ensure_bench_venv(upgrade: bool) -> dict[str, str]:
    """Create or reuse .bench-venv; returns the installed versions of VERSIONS_OF.

    The stamp follows pyproject.toml, so a change of nzila_ops' dependencies re-installs; pip's
    ``--upgrade`` then also takes the newest django-health-check.
    """
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes())
    digest.update(" ".join(BENCH_PACKAGES).encode())
    stamp = BENCH_VENV / f".installed-{digest.hexdigest()[:12]}"
    if not BENCH_PYTHON.exists():
        print(f"creating {BENCH_VENV.relative_to(REPO)}", flush=True)
        run([sys.executable, "-m", "venv", str(BENCH_VENV)])
    if upgrade or not stamp.exists():
        print("installing nzila_ops[dev], gunicorn, django-health-check (latest)", flush=True)
        pip = [str(BENCH_PYTHON), "-m", "pip", "install", "--quiet"]
        run([*pip, "--upgrade", "pip"])
        run([*pip, "--upgrade", "-e", f"{REPO}[dev]", *BENCH_PACKAGES])
        for old in BENCH_VENV.glob(".installed-*"):
            old.unlink()
        stamp.touch()
    script = (
        "import importlib.metadata as m, json, sys\n"
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    )
    return json.loads(run([str(BENCH_PYTHON), "-c", script, *VERSIONS_OF]).stdout)


def ensure_wrk() -> str:
    """The path of wrk, installed from Debian when missing (needs root)."""
    if not shutil.which("wrk"):
        print("installing wrk (apt-get)", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, capture_output=True, env=env).returncode != 0:
            run(["apt-get", "update", "-qq"], env=env)
            run(install, env=env)
    path = shutil.which("wrk")
    if path is None:
        raise SetupError("wrk is not installed and apt-get could not install it")
    return path


def bench_env(args: argparse.Namespace, cache_seconds: int = 0) -> dict[str, str]:
    """Environment of every process of the bench project (settings: health_settings.py)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "health_settings",
        "PYTHONPATH": str(BENCH),
        "PGHOST": args.host,
        "PGPORT": str(args.port),
        "PGUSER": args.user,
        "BENCH_HEALTH_DB": DBNAME,
        "BENCH_HEALTH_REDIS": args.redis,
        "BENCH_HEALTH_CACHE_SECONDS": str(cache_seconds),
    }


def ensure_database(args: argparse.Namespace) -> None:
    """Create nzila_bench_health if missing and migrate it (nzila_ops, auth, sessions...)."""
    import psycopg  # the development venv's: nzila_ops depends on it
    from psycopg import sql

    try:
        with psycopg.connect(
            host=args.host, port=args.port, user=args.user, dbname="postgres", autocommit=True
        ) as conn:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            if conn.execute(query, (DBNAME,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DBNAME)))
                print(f"created database {DBNAME}", flush=True)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())
        raise SetupError(f"PostgreSQL at {args.host}:{args.port}: {reason}") from None
    run([str(BENCH_PYTHON), "-m", "django", "migrate", "--no-input", "-v", "0"],
        env=bench_env(args), cwd=BENCH)  # fmt: skip
