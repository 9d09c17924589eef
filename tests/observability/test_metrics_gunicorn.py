"""gunicorn multiprocess mode: two real workers, one scrape, the sum of both."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from tests.support.listener import bound_listener, gunicorn_bind

pytestmark = pytest.mark.slow  # two gunicorn starts, about 15 s

REPO = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
PID_VIEW = {"view": "pid", "method": "GET", "status": "200"}


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def scrape(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    status, body = get(f"{base}/ops/metrics")
    assert status == 200, body
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def leave_previous_run(directory: Path) -> None:
    """Files as a previous gunicorn run would have left them: 1000 requests already counted."""
    code = (
        "from nzila_ops.observability.metrics.instruments import REQUESTS\n"
        "REQUESTS.labels('GET', '200').inc(1000)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=REPO)
    assert list(directory.glob("*.db"))


RUNNING_WRITER = (
    "import sys\n"
    "from nzila_ops.observability.metrics.instruments import DB_QUERY_DURATION\n"
    "for _ in range(7):\n"
    "    DB_QUERY_DURATION.labels('celery_worker_db').observe(0.01)\n"
    "print('written', flush=True)\n"
    "sys.stdin.read()\n"  # runs until the test closes its stdin
)


@pytest.fixture
def running_writer(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A process still running that shares the directory (a Celery worker on the host)."""
    multiproc = tmp_path / "multiproc"
    multiproc.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNING_WRITER],
        env=env,
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    yield proc
    proc.communicate(timeout=10)


@pytest.fixture
def served(
    tmp_path: Path, transactional_db: Any, running_writer: subprocess.Popen[str]
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    multiproc = tmp_path / "multiproc"
    leave_previous_run(multiproc)
    listener = bound_listener()  # handed to gunicorn: no other server can take the port
    port = listener.getsockname()[1]
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "DJANGO_SETTINGS_MODULE": "tests.observability.metrics_gunicorn_settings",
        "NZILA_METRICS_GUNICORN_DB": connection.settings_dict["NAME"],
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "example_project")]),
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [
            str(GUNICORN),
            "-c",
            "python:nzila_ops.observability.gunicorn",
            "--workers",
            "2",
            *gunicorn_bind(listener),
            "--no-control-socket",
            "nzila_export_hub.wsgi:application",
        ],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        pass_fds=(listener.fileno(),),
    )
    listener.close()  # gunicorn holds it now
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if get(f"{base}/ops/health/live", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{(tmp_path / 'gunicorn.log').read_text()}")
            time.sleep(0.1)
        yield base, server
    finally:
        os.killpg(server.pid, signal.SIGINT)  # gunicorn's quick shutdown
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_a_scrape_sums_the_counts_of_both_workers(
    served: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, _ = served
    before = scrape(base)
    # Four at a time, each holding its worker 50 ms: the two workers must share them.
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: get(f"{base}/pid/?sleep=0.05"), range(40)))
    assert all(status == 200 for status, _ in answers)
    pids = Counter(json.loads(body)["pid"] for _, body in answers)
    assert len(pids) == 2, pids  # both workers served

    after = scrape(base)
    counted = "nzila_http_request_duration_seconds_count"
    assert value(after, counted, **PID_VIEW) - value(before, counted, **PID_VIEW) == 40
    # Each pid request ran one query, in whichever worker served it.
    queries = "nzila_db_query_duration_seconds_count"
    assert (
        value(after, queries, database="default") - value(before, queries, database="default") >= 40
    )
    # The previous run's files were removed at start (on_starting): its 1000 are not here.
    assert value(after, "nzila_http_requests_total", method="GET", status="200") < 1000
    # A process still running kept its file: its counts are in the scrape.
    assert value(after, queries, database="celery_worker_db") == 7


def test_an_exited_workers_counts_are_kept(served: tuple[str, subprocess.Popen[bytes]]) -> None:
    base, _ = served
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: get(f"{base}/pid/?sleep=0.05"), range(20)))
    pids = {json.loads(body)["pid"] for _, body in answers}
    before = value(scrape(base), "nzila_http_request_duration_seconds_count", **PID_VIEW)
    assert before == 20
    victim = sorted(pids)[0]
    os.kill(victim, signal.SIGTERM)  # gunicorn's master starts another; child_exit marks it dead
    made, deadline = 0, time.monotonic() + 20
    while True:
        answers = [get(f"{base}/pid/?sleep=0.05") for _ in range(4)]
        made += len(answers)
        if victim not in {json.loads(body)["pid"] for _, body in answers}:
            break
        assert time.monotonic() < deadline, "the worker did not exit"
    # The dead worker's 20-odd requests are still in the sum, beside the new worker's.
    after = value(scrape(base), "nzila_http_request_duration_seconds_count", **PID_VIEW)
    assert after == before + made
