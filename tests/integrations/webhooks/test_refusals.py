"""What every webhook refuses, and that a refused request records nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from nzila_ops.models import Incident, IncidentEvent
from tests.integrations.webhooks.conftest import (
    PAGERDUTY_URL,
    SENTRY_URL,
    UPTIMEROBOT_URL,
    post_pagerduty,
    post_sentry,
)
from tests.integrations.webhooks.payloads import (
    PAGERDUTY_SECRET,
    SENTRY_SECRET,
    dumps,
    hmac_hex,
    pagerduty_event,
    pagerduty_signature,
    sentry_metric_alert,
    uptimerobot_alert,
)

pytestmark = pytest.mark.django_db

URLS = [PAGERDUTY_URL, SENTRY_URL, UPTIMEROBOT_URL]


def nothing_recorded() -> bool:
    return not Incident.objects.exists() and not IncidentEvent.objects.exists()


@pytest.mark.parametrize("url", URLS)
def test_a_webhook_whose_secret_is_not_set_is_switched_off(client: Client, url: str) -> None:
    response = client.post(url, b"{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["error"].endswith("webhook not configured")


@pytest.mark.parametrize("url", [PAGERDUTY_URL, SENTRY_URL])
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "head", "options"])
def test_signed_webhooks_accept_post_only(
    webhook_settings: Any, client: Client, url: str, method: str
) -> None:
    response = getattr(client, method)(url)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("method", ["put", "patch", "delete", "head", "options"])
def test_the_uptimerobot_webhook_accepts_get_and_post_only(
    webhook_settings: Any, client: Client, method: str
) -> None:
    response = getattr(client, method)(UPTIMEROBOT_URL)

    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"


@pytest.mark.parametrize("url", URLS)
def test_a_body_over_the_limit_is_refused_before_it_is_read(
    webhook_settings: Any, client: Client, url: str
) -> None:
    webhook_settings.NZILA_OPS = {
        **webhook_settings.NZILA_OPS,
        "WEBHOOKS": {**webhook_settings.NZILA_OPS["WEBHOOKS"], "MAX_BODY_BYTES": 2048},
    }
    body = dumps({"padding": "x" * 2048})

    response = client.post(url, body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {"error": "body over 2048 bytes"}
    assert nothing_recorded()


def test_pagerduty_without_a_signature_is_401(webhook_settings: Any, client: Client) -> None:
    body = dumps(pagerduty_event("incident.acknowledged", "database"))

    response = client.post(PAGERDUTY_URL, body, content_type="application/json")

    assert response.status_code == 401
    assert response.json() == {"error": "X-PagerDuty-Signature missing"}


@pytest.mark.parametrize(
    "signature",
    [
        "v1=" + "0" * 64,
        "v1=" + hmac_hex("another secret", b"x"),
        hmac_hex(PAGERDUTY_SECRET, b"x"),  # no version prefix
        "v2=" + "0" * 64,
        "v1=",
        ",,,",
    ],
)
def test_pagerduty_with_a_wrong_signature_is_401_and_records_nothing(
    webhook_settings: Any, client: Client, signature: str
) -> None:
    response = post_pagerduty(
        client, pagerduty_event("incident.acknowledged", "database"), signature=signature
    )

    assert response.status_code == 401
    assert response.json() == {"error": "X-PagerDuty-Signature does not match"}
    assert nothing_recorded()


def test_a_pagerduty_signature_of_another_body_is_401(
    webhook_settings: Any, client: Client
) -> None:
    signed = dumps(pagerduty_event("incident.acknowledged", "database"))
    sent = dumps(pagerduty_event("incident.resolved", "database"))

    response = post_pagerduty(client, sent, signature=pagerduty_signature(signed, PAGERDUTY_SECRET))

    assert response.status_code == 401


def test_sentry_with_a_wrong_signature_is_401_and_records_nothing(
    webhook_settings: Any, client: Client
) -> None:
    response = post_sentry(client, "metric_alert", sentry_metric_alert("critical"),
                           secret="not the client secret")  # fmt: skip

    assert response.status_code == 401
    assert response.json() == {"error": "Sentry-Hook-Signature does not match"}
    assert nothing_recorded()


@pytest.mark.parametrize("token", ["wrong", "ur-token-5f2b9c1e7", "ur-token-5f2b9c1e7d0", "ü"])
def test_uptimerobot_with_a_wrong_token_is_403_and_records_nothing(
    webhook_settings: Any, client: Client, token: str
) -> None:
    response = client.post(f"/ops/webhooks/uptimerobot/{token}/", uptimerobot_alert(1))

    assert response.status_code == 403
    assert response.json() == {"error": "wrong token"}
    assert nothing_recorded()


def test_uptimerobot_without_a_token_is_a_json_404(webhook_settings: Any, client: Client) -> None:
    response = client.post("/ops/webhooks/uptimerobot/", uptimerobot_alert(1))

    assert response.status_code == 404
    assert response.json() == {"error": "no such webhook"}


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b"[" * 50_000, b'{"event": 1}',
     b'{"event": {"event_type": 5}}', b'{"event": {"event_type": "incident.resolved"}}'],
)  # fmt: skip
def test_a_malformed_pagerduty_body_is_400(
    webhook_settings: Any, client: Client, body: bytes
) -> None:
    response = post_pagerduty(client, body)

    assert response.status_code == 400
    assert response.json()["error"]
    assert nothing_recorded()


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"action": "critical"}', b'{"action": 1, "data": {}}',
     b'{"action": "critical", "data": {"metric_alert": {}}}',
     b'{"action": "exploded", "data": {"metric_alert": {"id": "4"}}}'],
)  # fmt: skip
def test_a_malformed_sentry_body_is_400(webhook_settings: Any, client: Client, body: bytes) -> None:
    response = post_sentry(client, "metric_alert", body)

    assert response.status_code == 400
    assert nothing_recorded()


@pytest.mark.parametrize(
    "fields",
    [{}, {"monitorID": "1"}, {"monitorID": "1", "alertType": "down"},
     {"alertType": "1"}, {"monitorID": "1", "alertType": "1", "alertDateTime": "yesterday"},
     {"monitorID": "1", "alertType": "1", "alertDateTime": "9" * 30}],
)  # fmt: skip
def test_a_malformed_uptimerobot_alert_is_400(
    webhook_settings: Any, client: Client, fields: dict[str, str]
) -> None:
    response = client.post(UPTIMEROBOT_URL, fields)

    assert response.status_code == 400
    assert nothing_recorded()


def test_sentry_signature_of_the_raw_body_with_the_client_secret_is_accepted(
    webhook_settings: Any, client: Client
) -> None:
    # An installation webhook changes nothing: it shows only that the signature was taken.
    body = dumps({"action": "created", "data": {"installation": {"uuid": "x"}}})

    response = post_sentry(client, "installation", body, signature=hmac_hex(SENTRY_SECRET, body))

    assert response.status_code == 200
    assert response.json()["result"] == "ignored"
    assert nothing_recorded()


# One path for each webhook route nzila_ops.urls serves (checked below).
WEBHOOK_PATHS = [PAGERDUTY_URL, PAGERDUTY_URL.rstrip("/"), SENTRY_URL, SENTRY_URL.rstrip("/"),
                 UPTIMEROBOT_URL, UPTIMEROBOT_URL.rstrip("/"), "/ops/webhooks/x/y"]  # fmt: skip


def test_the_paths_tested_cover_every_webhook_route() -> None:
    from django.urls import resolve

    from nzila_ops.urls import urlpatterns

    assert {resolve(path).route for path in WEBHOOK_PATHS} == {
        str(pattern.pattern) for pattern in urlpatterns if "ops/webhooks" in str(pattern.pattern)
    }


@pytest.mark.parametrize("path", WEBHOOK_PATHS)
def test_every_webhook_path_answers_in_json_without_a_csrf_page(
    webhook_settings: Any, client: Client, path: str
) -> None:
    response = client.post(path, b'{"x": 1}', content_type="application/json")

    assert response.status_code in (400, 401, 404)
    assert response["Content-Type"] == "application/json"
    assert "error" in response.json()


def test_misconfigured_settings_are_a_503_the_vendor_retries(
    webhook_settings: Any, client: Client
) -> None:
    webhook_settings.NZILA_OPS = {
        **webhook_settings.NZILA_OPS,
        "WEBHOOKS": {**webhook_settings.NZILA_OPS["WEBHOOKS"], "MAX_BODY_BYTES": "lots"},
    }

    response = post_pagerduty(client, pagerduty_event("incident.acknowledged", "database"))

    assert response.status_code == 503
    assert response.json() == {"error": "PagerDuty webhook misconfigured"}
    assert nothing_recorded()


def test_an_uptimerobot_alert_with_the_health_checks_misconfigured_is_a_503(
    webhook_settings: Any, client: Client
) -> None:
    webhook_settings.NZILA_OPS = {**webhook_settings.NZILA_OPS,
                                  "HEALTH_CHECKS": ["no.such.Check"]}  # fmt: skip

    response = client.post(UPTIMEROBOT_URL, uptimerobot_alert(1))

    assert response.status_code == 503
    assert nothing_recorded()
