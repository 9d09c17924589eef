"""/ops/metrics as a scraper sees it: format, methods, caching, both URL spellings."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.observability.metrics_helpers import metrics_settings

pytestmark = pytest.mark.django_db
AUTH = {"HTTP_AUTHORIZATION": "Bearer tok"}


@pytest.fixture(autouse=True)
def _token(settings: Any) -> None:
    metrics_settings(settings, TOKEN="tok")


def test_both_spellings_serve_the_text_format_without_redirect(client: Any) -> None:
    for url in ("/ops/metrics", "/ops/metrics/"):
        response = client.get(url, **AUTH)
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/plain; version=")
        names = {f.name for f in text_string_to_metric_families(response.content.decode())}
        assert {"nzila_http_requests", "nzila_http_request_duration_seconds"} <= names


def test_the_answer_is_never_cached(client: Any) -> None:
    response = client.get("/ops/metrics", **AUTH)
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]


def test_only_get_and_head(client: Any) -> None:
    assert client.head("/ops/metrics", **AUTH).status_code == 200
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)("/ops/metrics", **AUTH)
        assert response.status_code == 405, method
        assert response["Allow"] == "GET, HEAD"


def test_a_scrape_shows_the_requests_made_before_it(client: Any) -> None:
    client.get("/ops/health/live")
    body = client.get("/ops/metrics", **AUTH).content.decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    key = (
        "nzila_http_request_duration_seconds_count",
        (("method", "GET"), ("status", "200"), ("view", "nzila_ops:health-live")),
    )
    assert samples[key] >= 1


def test_only_our_metrics_are_served_from_the_default_registry(client: Any) -> None:
    body = client.get("/ops/metrics", **AUTH).content.decode()
    names = {f.name for f in text_string_to_metric_families(body)}
    # prometheus_client's own process_/python_ collectors are the host's business.
    assert names and all(name.startswith("nzila_") for name in names)


def test_without_the_state_module_the_request_side_is_still_served(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a host where the scrape-time part is not installed: the import fails by its name.
    monkeypatch.setitem(sys.modules, "nzila_ops.observability.metrics.state", None)
    response = client.get("/ops/metrics", **AUTH)
    assert response.status_code == 200
    names = {f.name for f in text_string_to_metric_families(response.content.decode())}
    assert "nzila_http_requests" in names
    assert not any(name.startswith("nzila_component") for name in names)


def test_a_misconfigured_section_is_a_503_in_one_line_not_a_500(client: Any, settings: Any) -> None:
    metrics_settings(settings, ALLOWED_IPS=["not-a-network"])
    response = client.get("/ops/metrics", **AUTH)
    assert response.status_code == 503
    assert response.content == b"metrics misconfigured: run manage.py check\n"
