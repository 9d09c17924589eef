from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.integrations.webhooks.payloads import (
    PAGERDUTY_SECRET,
    SENTRY_SECRET,
    UPTIMEROBOT_TOKEN,
    dumps,
    hmac_hex,
    pagerduty_signature,
)

PAGERDUTY_URL = "/ops/webhooks/pagerduty/"
SENTRY_URL = "/ops/webhooks/sentry/"
UPTIMEROBOT_URL = f"/ops/webhooks/uptimerobot/{UPTIMEROBOT_TOKEN}/"


@pytest.fixture
def webhook_settings(settings: Any) -> Any:
    """Every webhook configured, UptimeRobot monitors at https://hub.example.com."""
    settings.NZILA_OPS = {
        **settings.NZILA_OPS,
        "WEBHOOKS": {
            "PAGERDUTY_SECRETS": [PAGERDUTY_SECRET],
            "UPTIMEROBOT_TOKEN": UPTIMEROBOT_TOKEN,
            "SENTRY_CLIENT_SECRET": SENTRY_SECRET,
        },
        "UPTIMEROBOT": {"BASE_URL": "https://hub.example.com"},
    }
    return settings


@pytest.fixture
def client() -> Client:
    # A vendor has no CSRF cookie: the checks must be on, as they are in production.
    return Client(enforce_csrf_checks=True)


def post_pagerduty(
    client: Client,
    payload: Any,
    *,
    secrets: tuple[str, ...] = (PAGERDUTY_SECRET,),
    webhook_id: str | None = "01DA2MLYN0J5EFC1LKWXUKDDKT",
    signature: str | None = None,
) -> Any:
    body = payload if isinstance(payload, bytes) else dumps(payload)
    headers = {"X-PagerDuty-Signature": signature or pagerduty_signature(body, *secrets)}
    if webhook_id is not None:
        headers["X-Webhook-Id"] = webhook_id
        headers["X-Webhook-Subscription"] = "PY1OL64"
    return client.post(PAGERDUTY_URL, body, content_type="application/json", headers=headers)


def post_sentry(
    client: Client,
    resource: str,
    payload: Any,
    *,
    secret: str = SENTRY_SECRET,
    signature: str | None = None,
) -> Any:
    body = payload if isinstance(payload, bytes) else dumps(payload)
    headers = {
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": "1600000000",
        "Sentry-Hook-Signature": signature or hmac_hex(secret, body),
        "Request-ID": "6e8f6b7a-7b0c-4c5f-8f3e-1d2c3b4a5f6e",
    }
    return client.post(SENTRY_URL, body, content_type="application/json", headers=headers)
