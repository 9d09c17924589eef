"""The health endpoints as UptimeRobot, a load balancer and a staff member see them."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from django.test import Client

from nzila_ops.health.base import Check
from tests.support.redis_server import PrivateRedis

pytestmark = pytest.mark.django_db


def get(client: Client, path: str, **headers: str) -> tuple[int, dict, str, Any]:
    response = client.get(path, headers=headers)
    text = response.content.decode()
    return response.status_code, json.loads(text), text, response


def test_live_answers_without_touching_anything(client: Client) -> None:
    status, body, _, response = get(client, "/ops/health/live")
    assert status == 200 and body == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_all_critical_checks_ok_shows_names_and_statuses_only(
    client: Client, three_checks: PrivateRedis
) -> None:
    status, body, text, response = get(client, "/ops/health/")
    assert status == 200
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "cache": "ok", "redis": "ok"}
    assert "details" not in body
    assert text.count('"status": "ok"') == 1  # what an UptimeRobot keyword monitor looks for
    assert "no-store" in response["Cache-Control"] and response["Expires"] == "0"


def test_details_need_the_token_or_a_staff_session(
    client: Client, admin_client: Client, three_checks: PrivateRedis
) -> None:
    _, body, _, _ = get(client, "/ops/health/", X_NZILA_HEALTH_TOKEN="s3cret-token")
    assert set(body["details"]["redis"]) == {"reason", "latency_ms", "critical"}
    _, body, _, _ = get(client, "/ops/health/", X_NZILA_HEALTH_TOKEN="wrong")
    assert "details" not in body
    _, body, _, _ = get(admin_client, "/ops/health/")
    assert "details" in body


def test_a_failing_dependency_gives_503_without_leaking_why(
    client: Client, three_checks: PrivateRedis
) -> None:
    three_checks.close()
    status, body, text, _ = get(client, "/ops/health/")
    assert status == 503 and body["status"] == "failing"
    assert body["checks"] == {"database": "ok", "cache": "ok", "redis": "failing"}
    assert str(three_checks.port) not in text and "Error" not in text and "127.0.0.1" not in text
    assert '"status": "ok"' not in text
    _, body, _, _ = get(client, "/ops/health/redis/", X_NZILA_HEALTH_TOKEN="s3cret-token")
    assert "Connection" in body["details"]["redis"]["reason"]


def test_a_hung_redis_fails_within_its_timeout_and_the_others_still_report(
    client: Client, three_checks: PrivateRedis
) -> None:
    get(client, "/ops/health/")  # connections established while healthy
    with three_checks.stopped():
        started = time.monotonic()
        status, body, _, _ = get(client, "/ops/health/", X_NZILA_HEALTH_TOKEN="s3cret-token")
        elapsed = time.monotonic() - started
    assert status == 503 and body["checks"]["redis"] == "failing"
    assert body["checks"]["database"] == "ok" and body["checks"]["cache"] == "ok"
    assert elapsed < 2.0 + 0.2, elapsed  # the default timeout is 2 s


class HangingCheck(Check):
    """A host project's check whose dependency never answers (until the test ends)."""

    name = "hanging"
    release = threading.Event()
    runs = 0

    def check(self) -> str | None:
        type(self).runs += 1
        self.release.wait(10)
        return None


def test_a_check_that_hangs_is_failing_after_its_own_timeout(client: Client, settings: Any) -> None:
    settings.NZILA_OPS = {
        "STORAGES": {"default": "file:///tmp/nzila-health-tests"},
        "HEALTH_CHECKS": [
            "nzila_ops.health.checks.database.DatabaseCheck",
            {"CHECK": f"{__name__}.HangingCheck", "TIMEOUT": 0.3},
        ],
        "HEALTH_TOKEN": "s3cret-token",
        "HEALTH_CACHE_SECONDS": 0,
    }
    HangingCheck.release.clear()
    try:
        started = time.monotonic()
        status, body, _, _ = get(client, "/ops/health/", X_NZILA_HEALTH_TOKEN="s3cret-token")
        elapsed = time.monotonic() - started
    finally:
        HangingCheck.release.set()  # frees the runner's thread
    assert status == 503 and body["checks"] == {"database": "ok", "hanging": "failing"}
    assert body["details"]["hanging"]["reason"] == "timed out after 0.3 s"
    assert elapsed < 0.3 + 0.2, elapsed


def test_one_check_per_endpoint_and_unknown_names_are_404(
    client: Client, three_checks: PrivateRedis
) -> None:
    status, body, _, _ = get(client, "/ops/health/database/")
    assert status == 200 and body["checks"] == {"database": "ok"}
    response = client.get("/ops/health/nope/")
    assert response.status_code == 404 and json.loads(response.content) == {
        "error": "unknown check"
    }


def test_head_works(client: Client, three_checks: PrivateRedis) -> None:
    response = client.head("/ops/health/")
    assert response.status_code == 200 and response.content == b""
    assert client.post("/ops/health/").status_code == 405


def test_results_are_cached_for_the_ttl_and_say_how_old_they_are(
    client: Client, settings: Any, three_checks: PrivateRedis
) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "HEALTH_CACHE_SECONDS": 30}
    _, first, _, _ = get(client, "/ops/health/")
    three_checks.close()  # a cached result does not notice
    time.sleep(0.3)
    status, second, _, _ = get(client, "/ops/health/")
    assert status == 200 and second["checks"]["redis"] == "ok"
    assert second["age_seconds"] >= 0.3 > first["age_seconds"]
    settings.NZILA_OPS = {**settings.NZILA_OPS, "HEALTH_CACHE_SECONDS": 0}
    status, third, _, _ = get(client, "/ops/health/")
    assert status == 503 and third["age_seconds"] < 0.3


@pytest.mark.parametrize(
    "given", ["café", "s3cret-token\u00e9", "токен", "\u2603" * 64, "\udcff", "s3cret-token\x00"]
)
def test_a_non_ascii_token_is_no_token_not_a_crash(
    client: Client, three_checks: PrivateRedis, given: str
) -> None:
    status, body, _, _ = get(client, "/ops/health/redis/", X_NZILA_HEALTH_TOKEN=given)
    assert status == 200 and body["checks"] == {"redis": "ok"}
    assert "details" not in body


def test_a_non_ascii_token_matches_the_bytes_a_client_sends(
    client: Client, settings: Any, three_checks: PrivateRedis
) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "HEALTH_TOKEN": "clé-secrète"}
    # A WSGI server hands header bytes to Django decoded as latin-1 (PEP 3333).
    on_the_wire = "clé-secrète".encode().decode("latin-1")
    _, body, _, _ = get(client, "/ops/health/redis/", X_NZILA_HEALTH_TOKEN=on_the_wire)
    assert "details" in body
    _, body, _, _ = get(client, "/ops/health/redis/", X_NZILA_HEALTH_TOKEN="clé-secrète!")
    assert "details" not in body


# One path for each route nzila_ops.urls serves (checked below), as a load balancer would call it.
HEALTH_PATHS = ["/ops/health/", "/ops/health/live", "/ops/health/live/", "/ops/health/database/",
                "/ops/health/nope/", "/ops/health/a/b/"]  # fmt: skip


def test_the_paths_below_cover_every_route_nzila_ops_serves() -> None:
    from django.urls import resolve

    from nzila_ops.urls import urlpatterns

    # The webhooks' routes (ops/webhooks/) have their own test (tests/integrations/webhooks).
    assert {resolve(path).route for path in HEALTH_PATHS} == {
        str(pattern.pattern) for pattern in urlpatterns if "ops/health" in str(pattern.pattern)
    }


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
@pytest.mark.parametrize("path", HEALTH_PATHS)
def test_anything_but_get_and_head_is_405_json_not_a_csrf_page(
    three_checks: PrivateRedis, method: str, path: str
) -> None:
    client = Client(enforce_csrf_checks=True)  # as a browser-less monitor meets production
    response = client.generic(method, path, data=b'{"x": 1}', content_type="application/json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response["Content-Type"] == "application/json"
    answer = json.loads(response.content)
    assert answer == {"error": "method not allowed", "allowed": ["GET", "HEAD"]}
    assert "no-store" in response["Cache-Control"]


def test_an_unknown_path_below_the_endpoints_is_404_json(client: Client) -> None:
    response = client.get("/ops/health/a/b/")
    assert response.status_code == 404
    assert json.loads(response.content) == {"error": "unknown check"}


def test_a_check_url_without_its_slash_is_redirected_and_other_paths_are_404_json(
    client: Client, three_checks: PrivateRedis
) -> None:
    response = client.get("/ops/health/redis?probe=1")
    assert response.status_code == 301 and response["Location"] == "/ops/health/redis/?probe=1"
    for path in ("/ops/health/nope", "/ops/health/" + "x" * 20_000, "/ops/health//"):
        response = client.get(path)
        assert response.status_code == 404
        assert json.loads(response.content) == {"error": "unknown check"}


def test_a_hung_check_holds_one_thread_however_often_it_is_polled(settings: Any) -> None:
    from nzila_ops.health.registry import get_checks
    from nzila_ops.health.runner import run_checks

    settings.NZILA_OPS = {
        "STORAGES": {"default": "file:///tmp/nzila-health-tests"},
        "HEALTH_CHECKS": [{"CHECK": f"{__name__}.HangingCheck", "TIMEOUT": 0.2}],
    }
    HangingCheck.release.clear()
    HangingCheck.runs = 0
    try:
        reports = [run_checks(get_checks(), use_cache=False) for _ in range(3)]
    finally:
        HangingCheck.release.set()
    assert HangingCheck.runs == 1
    assert [report.results[0].reason for report in reports] == [
        "timed out after 0.2 s",
        "timed out after 0.2 s (still waiting since an earlier poll)",
        "timed out after 0.2 s (still waiting since an earlier poll)",
    ]


class RunRaises(Check):
    """A host's check that overrides run() and lets an error out (run() should never raise)."""

    name = "run_raises"

    def run(self) -> Any:
        raise SystemExit("a library called sys.exit()")


def test_a_check_whose_run_raises_is_failing_not_a_500(client: Client, settings: Any) -> None:
    settings.NZILA_OPS = {
        "STORAGES": {"default": "file:///tmp/nzila-health-tests"},
        "HEALTH_CHECKS": [f"{__name__}.RunRaises"],
        "HEALTH_TOKEN": "s3cret-token",
        "HEALTH_CACHE_SECONDS": 0,
    }
    status, body, _, _ = get(client, "/ops/health/run_raises/", X_NZILA_HEALTH_TOKEN="s3cret-token")
    assert status == 503 and body["checks"] == {"run_raises": "failing"}
    assert body["details"]["run_raises"]["reason"] == "SystemExit: a library called sys.exit()"


@pytest.mark.parametrize(
    "checks",
    [["no.such.Check"], [{"CHECK": f"{__name__}.HangingCheck", "TIMEOUT": "soon"}]],
    ids=["unknown path", "timeout not a number"],
)
def test_misconfigured_checks_are_a_json_503_not_a_500(
    client: Client, settings: Any, checks: list
) -> None:
    settings.NZILA_OPS = {
        "STORAGES": {"default": "file:///tmp/nzila-health-tests"},
        "HEALTH_CHECKS": checks,
    }
    for path in ("/ops/health/", "/ops/health/database/", "/ops/health/database"):
        status, body, _, _ = get(client, path)
        assert status == 503, path
        assert body == {
            "status": "failing",
            "error": "health checks misconfigured: run manage.py check",
        }
    status, body, _, _ = get(client, "/ops/health/live")  # the process itself still answers
    assert (status, body) == (200, {"status": "ok"})


def test_a_forked_worker_runs_its_checks_afresh(settings: Any) -> None:
    """A Celery prefork (or gunicorn) worker forked while a check hung in its parent: the
    child has no thread to finish that run, so it must not wait on it."""
    import os

    from nzila_ops.health.base import Status
    from nzila_ops.health.registry import get_checks
    from nzila_ops.health.runner import run_checks

    settings.NZILA_OPS = {
        "STORAGES": {"default": "file:///tmp/nzila-health-tests"},
        "HEALTH_CHECKS": [{"CHECK": f"{__name__}.HangingCheck", "TIMEOUT": 0.5}],
    }
    HangingCheck.release.clear()
    try:
        assert run_checks(get_checks(), use_cache=False).failing  # a run left hanging
        pid = os.fork()
        if pid == 0:  # the child: its own run of the check returns at once
            HangingCheck.release.set()
            report = run_checks(get_checks(), use_cache=False)
            os._exit(0 if report.status is Status.OK else 1)
        _, wait_status = os.waitpid(pid, 0)
    finally:
        HangingCheck.release.set()
    assert os.waitstatus_to_exitcode(wait_status) == 0
