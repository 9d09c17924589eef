"""The request histogram and counter: one series per route, never per path."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.observability.metrics_helpers import sample, view_labels

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.observability.metrics_urls")]
DURATION = "nzila_http_request_duration_seconds_count"
ROUTE = "api/deals/<int:pk>/"


def test_two_ids_of_one_route_are_one_series_labelled_with_the_route(client: Any) -> None:
    before = sample(DURATION, view=ROUTE, method="GET", status="200")
    labels_before = view_labels()
    assert client.get("/api/deals/1/").status_code == 200
    assert client.get("/api/deals/2/").status_code == 200
    assert sample(DURATION, view=ROUTE, method="GET", status="200") == before + 2
    assert view_labels() - labels_before <= {ROUTE}
    assert not any("deals/1" in label or "deals/2" in label for label in view_labels())


def test_a_named_route_is_labelled_with_its_namespaced_name(client: Any) -> None:
    before = sample(DURATION, view="nzila_ops:health-live", method="GET", status="200")
    client.get("/ops/health/live")
    assert sample(DURATION, view="nzila_ops:health-live", method="GET", status="200") == before + 1


def test_unmatched_paths_share_one_label(client: Any) -> None:
    before = sample(DURATION, view="<unmatched>", method="GET", status="404")
    for path in ("/wp-login.php", "/.env", "/api/deals/abc/"):
        assert client.get(path).status_code == 404
    assert sample(DURATION, view="<unmatched>", method="GET", status="404") == before + 3


def test_requests_are_counted_by_method_and_status(client: Any) -> None:
    before_ok = sample("nzila_http_requests_total", method="GET", status="200")
    before_405 = sample("nzila_http_requests_total", method="POST", status="405")
    client.get("/api/deals/7/")
    client.post("/ops/health/live")
    assert sample("nzila_http_requests_total", method="GET", status="200") == before_ok + 1
    assert sample("nzila_http_requests_total", method="POST", status="405") == before_405 + 1


def test_an_unknown_method_is_counted_as_other(client: Any) -> None:
    before = sample("nzila_http_requests_total", method="other", status="405")
    client.generic("PROPFIND", "/ops/health/live")
    assert sample("nzila_http_requests_total", method="other", status="405") == before + 1
    assert sample("nzila_http_requests_total", method="PROPFIND", status="405") == 0


def test_a_view_that_raises_is_counted_as_its_500(client: Any) -> None:
    client.raise_request_exception = False
    before = sample(DURATION, view="boom", method="GET", status="500")
    before_total = sample("nzila_http_requests_total", method="GET", status="500")
    assert client.get("/boom/").status_code == 500
    assert sample(DURATION, view="boom", method="GET", status="500") == before + 1
    assert sample("nzila_http_requests_total", method="GET", status="500") == before_total + 1


segment = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=30
)


@hsettings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    paths=st.lists(
        st.one_of(
            segment.map(lambda s: "/" + quote(s, safe="/")),
            segment.map(lambda s: "/api/deals/" + quote(s, safe="/")),
            st.integers(min_value=0, max_value=10**12).map(lambda n: f"/api/deals/{n}/"),
        ),
        min_size=1,
        max_size=8,
    ),
    method=st.sampled_from(["GET", "POST", "HEAD", "BREW", "DELETE"]),
)
def test_a_scanner_cannot_grow_the_view_labels(client: Any, paths: list[str], method: str) -> None:
    before = view_labels()
    for path in paths:
        if path.startswith("/ops/"):
            continue  # the health views run real checks; their labels are names anyway
        response = client.generic(method, path)
        assert response.status_code < 500, path
    # Whatever the paths, the labels are the URLconf's routes and <unmatched>: a bounded set.
    allowed = {"<unmatched>", ROUTE, "pid", "boom"}
    assert view_labels() - before <= allowed


def test_requests_served_through_asgi_are_recorded_the_same() -> None:
    # Under ASGI the middleware runs as a coroutine (async_capable); the labels are the same.
    before = sample(DURATION, view=ROUTE, method="GET", status="200")
    response = async_to_sync(AsyncClient().get)("/api/deals/3/")
    assert response.status_code == 200
    assert sample(DURATION, view=ROUTE, method="GET", status="200") == before + 1
