"""Anything a client can send to the health endpoints is answered or refused, never a crash.

Monitors, load balancers, scanners and the odd browser all reach these URLs without a login:
whatever the path, method, headers or body, the answer is a JSON 2xx/4xx (or Django's own
redirect of a check's URL typed without its trailing slash), never a 500.
"""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops.health.base import Check

pytestmark = pytest.mark.django_db


class AlwaysOk(Check):
    """A check with no dependency: any 5xx seen here is the endpoint's own fault."""

    name = "always_ok"

    def check(self) -> str | None:
        return None


@pytest.fixture
def fuzz_settings(settings: Any) -> None:
    settings.NZILA_OPS = {
        "STORAGES": {"default": "file:///tmp/nzila-health-tests"},
        "HEALTH_CHECKS": [f"{__name__}.AlwaysOk", {"CHECK": f"{__name__}.AlwaysOk", "NAME": "db"}],
        "HEALTH_TOKEN": "s3cret-token",
        "HEALTH_CACHE_SECONDS": 60,
    }


# Text as a WSGI server hands it over (bytes decoded as latin-1), and text of any code point.
binaryish = st.binary(max_size=64).map(lambda raw: raw.decode("latin-1"))
any_text = st.text(max_size=64)
segment = st.one_of(
    st.sampled_from(["", ".", "..", "%2e%2e", "%2F", "%00", "%ff", "%", "live", "db",
                     "always_ok", "ALWAYS_OK", "db;x", "db\x00", "\u2603", "ñ"]),
    st.text(alphabet=string.ascii_letters + string.digits + "_-.~", max_size=80),
    any_text,
    binaryish,
    st.integers(1_000, 20_000).map(lambda n: "x" * n),  # giant
)  # fmt: skip
encoded_segment = st.tuples(segment, st.booleans()).map(
    lambda pair: quote(pair[0], safe="") if pair[1] else pair[0]
)
paths = st.builds(
    lambda segments, slash, query: "/ops/health/" + "/".join(segments) + slash + query,
    st.lists(encoded_segment, max_size=4),
    st.sampled_from(["", "/"]),
    st.one_of(st.just(""), any_text.map(lambda q: "?" + q)),
)
methods = st.one_of(
    st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
                     "CONNECT", "PROPFIND"]),
    st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=12),
)  # fmt: skip
header_names = st.one_of(
    st.sampled_from(["X-Nzila-Health-Token", "Cookie", "Accept", "Accept-Encoding", "Origin",
                     "Referer", "X-Forwarded-For", "X-Forwarded-Proto", "X-CSRFToken",
                     "User-Agent", "Content-Type", "If-None-Match", "Range", "Authorization"]),
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,30}", fullmatch=True),
)  # fmt: skip
# Host is Django's to refuse (ALLOWED_HOSTS, before any view); the client sets Content-Length.
# The token header only under its one spelling, so the test knows whether details are due.
header_names = header_names.filter(
    lambda name: (
        name.lower() not in ("host", "content-length")
        and (name == "X-Nzila-Health-Token" or name.lower() != "x-nzila-health-token")
    )
)
# A server delivers header bytes as latin-1 text (PEP 3333): a client's UTF-8 arrives so.
header_values = st.one_of(
    any_text.map(lambda text: text.encode("utf-8", "surrogatepass").decode("latin-1")),
    binaryish,
    st.sampled_from(["sessionid=junk; csrftoken=\x00\xff", "s3cret-token", "s3cret-token\u00e9",
                     "text/html;;;", "bytes=-1-2"]),
)  # fmt: skip
bodies = st.one_of(st.just(b""), st.binary(max_size=256), st.just(b'{"status": "ok"}'))


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=methods,
    path=paths,
    headers=st.dictionaries(header_names, header_values, max_size=6),
    body=bodies,
)
def test_any_request_is_answered_or_refused_never_a_server_error(
    fuzz_settings: None, method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    client = Client(enforce_csrf_checks=True, raise_request_exception=True)
    response = client.generic(method, path, data=body, headers=headers)
    status = response.status_code
    if status == 301:  # a configured check's name without its trailing slash
        assert method in ("GET", "HEAD")
        assert response["Location"].split("?")[0] in ("/ops/health/always_ok/", "/ops/health/db/")
        return
    assert status in (200, 404, 405), (status, method, path)
    assert response["Content-Type"] == "application/json"
    if method == "HEAD":
        return
    answer = json.loads(response.content)
    if status == 405:
        assert response["Allow"] == "GET, HEAD" and answer["error"] == "method not allowed"
    elif status == 404:
        assert answer == {"error": "unknown check"}
    else:
        assert answer["status"] == "ok"
        assert ("details" in answer) == (headers.get("X-Nzila-Health-Token") == "s3cret-token")


@pytest.mark.parametrize(
    "name",
    ["..", "%2e%2e", "%252e", "db%00", "\u2603", "DB", "db ", " db", "x" * 10_000, "%ff%fe",
     "always_ok\u0301", "db;", "db%2F..%2F"],
)  # fmt: skip
def test_a_check_name_that_is_not_configured_is_404_json(
    fuzz_settings: None, client: Client, name: str
) -> None:
    response = client.get(f"/ops/health/{name}/")
    assert response.status_code == 404, name
    assert json.loads(response.content) == {"error": "unknown check"}
