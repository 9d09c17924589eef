"""Who may read /ops/metrics: bearer token, allowed networks, or nobody (404)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nzila_ops.observability.metrics.access import address_allowed
from tests.observability.metrics_helpers import metrics_settings

pytestmark = pytest.mark.django_db
TOKEN = "s3cret-scrape-token"
FUZZ = hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_metrics_are_off_when_neither_token_nor_networks_are_set(
    client: Any, settings: Any
) -> None:
    metrics_settings(settings)
    for auth in ({}, {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}):
        response = client.get("/ops/metrics", **auth)
        assert response.status_code == 404
        assert b"nzila_" not in response.content
    assert client.post("/ops/metrics").status_code == 404


def test_the_right_bearer_token_reads_the_metrics_from_any_address(
    client: Any, settings: Any
) -> None:
    metrics_settings(settings, TOKEN=TOKEN)
    response = client.get(
        "/ops/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="203.0.113.9"
    )
    assert response.status_code == 200
    assert b"# TYPE nzila_http_requests_total counter" in response.content
    # RFC 7235: the scheme is case-insensitive.
    lower = client.get("/ops/metrics", HTTP_AUTHORIZATION=f"bearer {TOKEN}")
    assert lower.status_code == 200


def test_a_missing_token_is_401_and_a_wrong_one_403_in_one_line(client: Any, settings: Any) -> None:
    metrics_settings(settings, TOKEN=TOKEN, ALLOWED_IPS=["10.0.0.0/8"])
    missing = client.get("/ops/metrics", REMOTE_ADDR="203.0.113.9")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert missing.content.decode().count("\n") == 1
    for header in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN[:-1]}"):
        response = client.get("/ops/metrics", HTTP_AUTHORIZATION=header, REMOTE_ADDR="203.0.113.9")
        expected = 401 if not header.startswith("Bearer ") else 403
        assert response.status_code == expected, header
        assert b"nzila_" not in response.content
        assert TOKEN.encode() not in response.content


def test_refusals_do_not_tell_whether_a_token_is_configured(client: Any, settings: Any) -> None:
    answers = []
    for section in (
        {"TOKEN": TOKEN, "ALLOWED_IPS": ["10.0.0.0/8"]},
        {"ALLOWED_IPS": ["10.0.0.0/8"]},
    ):
        metrics_settings(settings, **section)
        for auth in ({}, {"HTTP_AUTHORIZATION": "Bearer guess"}):
            response = client.get("/ops/metrics", REMOTE_ADDR="203.0.113.9", **auth)
            answers.append(
                (response.status_code, response.content, response.get("WWW-Authenticate"))
            )
    assert answers[:2] == answers[2:]


@pytest.mark.parametrize(
    ("allowed", "address", "ok"),
    [
        (["127.0.0.1"], "127.0.0.1", True),
        (["127.0.0.1"], "127.0.0.2", False),
        (["10.1.0.0/16"], "10.1.255.3", True),
        (["10.1.0.0/16"], "10.2.0.1", False),
        (["2001:db8::/32"], "2001:db8:1::5", True),
        (["2001:db8::/32"], "2001:db9::1", False),
        (["::1"], "::1", True),
        (["192.168.1.0/24"], "::ffff:192.168.1.7", True),  # IPv4-mapped, as dual-stack sockets give
        (["10.0.0.0/8"], "not-an-address", False),
        (["10.0.0.0/8"], "", False),
    ],
)
def test_allowed_networks_match_ipv4_ipv6_and_cidr(
    client: Any, settings: Any, allowed: list[str], address: str, ok: bool
) -> None:
    assert address_allowed(address, allowed) is ok
    metrics_settings(settings, ALLOWED_IPS=allowed)
    response = client.get("/ops/metrics", REMOTE_ADDR=address)
    assert response.status_code == (200 if ok else 401)


def test_allowed_ips_read_from_a_comma_separated_string(client: Any, settings: Any) -> None:
    metrics_settings(settings, ALLOWED_IPS="10.0.0.0/8, 127.0.0.1")
    assert client.get("/ops/metrics", REMOTE_ADDR="10.9.9.9").status_code == 200


def test_x_forwarded_for_is_ignored(client: Any, settings: Any) -> None:
    metrics_settings(settings, TOKEN=TOKEN, ALLOWED_IPS=["10.0.0.0/8"])
    response = client.get(
        "/ops/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.0.0.1"
    )
    assert response.status_code == 401


@FUZZ
@given(
    authorization=st.one_of(
        st.text(max_size=80),
        st.text(max_size=60).map(lambda t: f"Bearer {t}"),
        st.binary(max_size=40).map(lambda b: "Bearer " + b.decode("latin-1")),
    ),
    forwarded=st.text(max_size=60),
    remote=st.one_of(st.text(max_size=40), st.ip_addresses().map(str)),
)
def test_fuzzed_authorization_and_addresses_are_refused_never_a_crash(
    client: Any, settings: Any, authorization: str, forwarded: str, remote: str
) -> None:
    metrics_settings(settings, TOKEN=TOKEN, ALLOWED_IPS=["10.0.0.0/8", "2001:db8::/32"])
    response = client.get(
        "/ops/metrics",
        HTTP_AUTHORIZATION=authorization,
        HTTP_X_FORWARDED_FOR=forwarded,
        REMOTE_ADDR=remote,
    )
    allowed = address_allowed(remote, ["10.0.0.0/8", "2001:db8::/32"])
    assert response.status_code in ((200,) if allowed else (401, 403))
    if not allowed:
        assert b"nzila_" not in response.content
