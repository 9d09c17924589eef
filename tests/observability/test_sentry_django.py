"""Sentry seen from a Django request: an error reaches Sentry without the secrets it carried,
health, status and metrics requests are never traced, SQL spans and their parameters."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from pyrage import x25519

from nzila_ops.health.connections import close_pooled_connections
from nzila_ops.health.runner import clear_cache
from tests.support.sentry_capture import (
    DSN,
    StartSentry,
    dumps,
    start_sentry_fixture,  # noqa: F401
    wsgi_request,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

PASSWORD = "hunter2-Vehicle-Export"
TOKEN = "tok_7f3a9c2e5b8d4f1a6c0e"
EMAIL = "buyer.mwangi@example.co.ke"
AGE_IDENTITY = str(x25519.Identity.generate())
REDIS_URL = "redis://127.0.0.1:6379/9"  # this file's own Redis database

logger = logging.getLogger("nzila_export_hub.payments")


@csrf_exempt
def fail_payment(request: HttpRequest) -> HttpResponse:
    password = request.POST["password"]  # a local variable Sentry records with the frame
    note = f"card holder {request.POST['holder']} (password given: {bool(password)})"
    logger.warning("retrying payment for %s", EMAIL)
    raise RuntimeError(f"payment gateway refused {note}: reported to {DSN} with {AGE_IDENTITY}")


def traced(request: HttpRequest) -> HttpResponse:
    redis.Redis.from_url(REDIS_URL).set("nzila-sentry-probe", "1", ex=60)
    return HttpResponse("ok")


def query(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text", ["VIN-JTDBR32E530012345"])
        cursor.execute("SELECT pg_sleep(%s)", [0.15])
    return HttpResponse("ok")


urlpatterns = [
    path("payments/fail/", fail_payment),
    path("traced/", traced),
    path("query/", query),
    path("", include("nzila_ops.urls")),
    # The same app mounted under a prefix, as a host may do.
    path("internal/", include(("nzila_ops.urls", "nzila_ops"), namespace="internal")),
]


@pytest.fixture
def cheap_health(settings: Any) -> Any:
    """/ops/health/ with one in-process check, recomputed at every request."""
    settings.NZILA_OPS = {
        **settings.NZILA_OPS,
        "HEALTH_CHECKS": ["nzila_ops.health.checks.cache.CacheCheck"],
        "HEALTH_CACHE_SECONDS": 0,
    }
    clear_cache()
    yield settings
    clear_cache()
    close_pooled_connections()


def test_an_error_in_a_view_reaches_sentry_without_the_secrets_it_carried(
    start_sentry: StartSentry,
) -> None:
    transport = start_sentry(environment="production", release="nzila@3.1.0")
    body = f"password={PASSWORD}&holder={EMAIL}&token={TOKEN}".replace("@", "%40")
    status, _ = wsgi_request(
        f"/payments/fail/?access_token={TOKEN}&page=2",
        method="POST",
        body=body.encode(),
        content_type="application/x-www-form-urlencoded",
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Cookie": f"sessionid={TOKEN}; theme=dark",
            "X-Forwarded-For": "203.0.113.9",
        },
    )
    assert status == 500

    (event,) = transport.items("event")
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert exception["value"].startswith("payment gateway refused card holder [Filtered]")
    assert "o4242.ingest.sentry.io" in exception["value"]  # where, without the key
    assert event["environment"] == "production" and event["release"] == "nzila@3.1.0"
    assert event["transaction"] == "/payments/fail/"
    assert event["request"]["method"] == "POST"
    assert "retrying payment for [Filtered]" in dumps(event["breadcrumbs"])

    wire = transport.serialized()
    for secret in (PASSWORD, TOKEN, EMAIL, AGE_IDENTITY, DSN, DSN.split("//")[1].split("@")[0]):
        assert secret not in wire
    assert "203.0.113.9" not in wire  # send_default_pii is off: no client address


def test_health_status_and_metrics_requests_are_never_traced(
    start_sentry: StartSentry, cheap_health: Any
) -> None:
    transport = start_sentry(traces_sample_rate=1.0)
    quiet = [
        "/ops/health/live",
        "/ops/health/live/",
        "/ops/health/",
        "/ops/health/cache/",
        "/ops/health/nothing-here",
        "/ops/status/",
        "/ops/status.json",
        "/ops/metrics",
        "/ops/metrics/?format=text",
        "/internal/ops/health/live",
        "/internal/ops/health/",
    ]
    for url in quiet:
        wsgi_request(url)
    assert transport.items("transaction") == []

    status, _ = wsgi_request("/traced/")
    assert status == 200
    (transaction,) = transport.items("transaction")
    assert transaction["transaction"] == "/traced/"
    assert transaction["contexts"]["trace"]["op"] == "http.server"
    # The Redis integration: the command is a span of the request's trace.
    assert any(span["op"] == "db.redis" for span in transaction["spans"])


def test_a_parents_sampling_decision_is_kept(start_sentry: StartSentry) -> None:
    trace_id = "771a43a4192642f0b136d5159a501700"
    transport = start_sentry(traces_sample_rate=1.0)
    wsgi_request("/traced/", headers={"sentry-trace": f"{trace_id}-b7ad6b7169203331-0"})
    assert transport.items("transaction") == []

    transport = start_sentry(traces_sample_rate=0.0)
    wsgi_request("/traced/", headers={"sentry-trace": f"{trace_id}-b7ad6b7169203331-1"})
    (transaction,) = transport.items("transaction")
    assert transaction["contexts"]["trace"]["trace_id"] == trace_id
    wsgi_request("/traced/")  # no parent: the rate, 0 here
    assert len(transport.items("transaction")) == 1

    # A parent cannot make the health endpoints traced.
    wsgi_request("/ops/health/live", headers={"sentry-trace": f"{trace_id}-b7ad6b7169203331-1"})
    assert len(transport.items("transaction")) == 1


def sql_spans(transaction: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {span["description"]: span for span in transaction["spans"] if span["op"] == "db"}


def test_sql_spans_carry_the_source_of_slow_queries_and_no_parameters(
    start_sentry: StartSentry,
) -> None:
    transport = start_sentry(traces_sample_rate=1.0)
    wsgi_request("/query/")
    (transaction,) = transport.items("transaction")
    spans = sql_spans(transaction)
    fast, slow = spans["SELECT %s::text"], spans["SELECT pg_sleep(%s)"]
    # Over 100 ms: where in the code the query was made (the plan's slow query detection).
    assert slow["data"]["code.function"] == "query"
    assert slow["data"]["code.filepath"].endswith("test_sentry_django.py")
    assert "code.function" not in fast["data"]
    assert "db.params" not in fast["data"] and "db.params" not in slow["data"]
    assert "VIN-JTDBR32E530012345" not in transport.serialized()


def test_sql_parameters_are_recorded_only_when_asked_for(start_sentry: StartSentry) -> None:
    transport = start_sentry(traces_sample_rate=1.0, send_sql_params=True)
    wsgi_request("/query/")
    (transaction,) = transport.items("transaction")
    assert sql_spans(transaction)["SELECT %s::text"]["data"]["db.params"] == [
        "VIN-JTDBR32E530012345"
    ]
