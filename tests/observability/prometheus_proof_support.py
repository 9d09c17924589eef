"""Processes of the Grafana dashboard's proof: a Prometheus server, the example project under
gunicorn, a Celery worker, each in a process group of its own, and what is asked of them."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Grafana's own variables, which Prometheus does not know: a literal range that covers the
# test's few seconds of samples (Grafana puts at least four scrape intervals there).
GRAFANA_RANGES = {"$__rate_interval": "5m", "$__interval": "15s", "$__range": "5m"}
FALLBACK = re.compile(r"\bor\s+vector\(\s*0\s*\)")
# `name{labels}`, or a bare name, of an nzila_ metric in a PromQL expression.
SELECTOR = re.compile(r"\b(nzila_[a-z0-9_]+)(\{[^}]*\})?")


def prometheus_binary() -> str | None:
    return shutil.which("prometheus") or next(
        (p for p in ("/usr/bin/prometheus", "/usr/local/bin/prometheus") if os.access(p, os.X_OK)),
        None,
    )


def start(argv: list[str], log: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    """A child in a new session (its own process group), output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """TERM the child's whole process group (gunicorn's workers, celery's pool), then KILL
    whatever of the group is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def wait_until(
    what: str,
    ready: Callable[[], Any],
    timeout: float,
    log: Path | None = None,
    why: Callable[[], str] | None = None,
) -> Any:
    """Poll ``ready`` until it is true; on timeout fail with ``why()`` and the log's tail."""
    deadline = time.monotonic() + timeout
    while True:
        value = ready()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = why() if why else ""
            raise AssertionError(
                f"{what}: not after {timeout:.0f} s {detail}\n{tail(log) if log else ''}"
            )
        time.sleep(0.25)


def wait_served(gunicorn: subprocess.Popen[Any], base: str, timeout: float, log: Path) -> None:
    """Wait until ``gunicorn``, still running, answers ``base``/ops/health/live with a 200."""
    wait_until(
        "gunicorn serves /ops/health/live",
        lambda: gunicorn.poll() is None and http_get(f"{base}/ops/health/live")[0] == 200,
        timeout,
        log,
    )


def http_get(url: str, token: str | None = None, timeout: float = 5) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def prometheus_config(path: Path, target: str, token: str) -> None:
    """Scrape /ops/metrics every second with the bearer token (JSON is valid YAML)."""
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "nzila",
                "metrics_path": "/ops/metrics",
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "authorization": {"credentials": token},
                "static_configs": [{"targets": [target]}],
            }
        ],
    }
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)  # it holds the token


class Prometheus:
    """The HTTP API of a running Prometheus."""

    def __init__(self, base: str) -> None:
        self.base = base

    def api(self, endpoint: str, **params: str) -> dict[str, Any]:
        query = urllib.parse.urlencode(params)
        status, body = http_get(f"{self.base}/api/v1/{endpoint}?{query}")
        assert status == 200, f"{endpoint} {params}: HTTP {status} {body[:500]!r}"
        answer: dict[str, Any] = json.loads(body)
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expr)
        assert data["resultType"] in ("vector", "scalar"), (expr, data)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def target_up(self) -> bool:
        targets = self.api("targets")["activeTargets"]
        return bool(targets) and all(t["health"] == "up" for t in targets)

    def scrapes(self) -> int:
        """How many successful scrapes Prometheus holds of the target (over the last 5 min)."""
        found = self.query('sum_over_time(up{job="nzila"}[5m])')
        return int(float(found[0]["value"][1])) if found else 0

    def last_scrape_error(self) -> str:
        targets = self.api("targets")["activeTargets"]
        return "; ".join(f"{t['scrapeUrl']}: {t['lastError']}" for t in targets)


def runnable(expr: str) -> str:
    """A dashboard expression as Prometheus takes it: Grafana's variables made literal."""
    for variable, literal in GRAFANA_RANGES.items():
        expr = expr.replace(variable, literal)
    assert "$" not in expr, f"a Grafana variable this test does not know in {expr!r}"
    return expr


def selectors(expr: str) -> list[str]:
    """The nzila_ metric selectors an expression reads: ``name{labels}``, a bare name, or a
    ``{__name__=~...}`` selector as it is (the names in its quotes are patterns)."""
    by_name = re.findall(r"\{__name__[^}]*\}", expr)
    rest = re.sub(r"\{__name__[^}]*\}", "", expr)
    return [name + labels for name, labels in SELECTOR.findall(rest)] + by_name
