from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.fake_pagerduty import FakePagerDuty

TOKEN = "u+s3cr3t-REST-token-0123456789"
USERS = {
    "primary": ["ada@example.com", "grace@example.com"],
    "secondary": ["linus@example.com", "ken@example.com"],
    "manager": ["margaret@example.com"],
}


@pytest.fixture
def pagerduty(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePagerDuty]:
    # A proxy from the environment must not carry requests for 127.0.0.1 off this machine.
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with FakePagerDuty(TOKEN) as fake:
        for emails in USERS.values():
            for email in emails:
                fake.add_user(email)
        yield fake


def configure(settings: Any, **pagerduty: Any) -> None:
    """Only the keys given: the rest of PAGERDUTY comes from the defaults."""
    settings.NZILA_OPS = {**settings.NZILA_OPS, "PAGERDUTY": pagerduty}


@pytest.fixture
def pd_settings(settings: Any, pagerduty: FakePagerDuty) -> dict[str, Any]:
    """PAGERDUTY settings pointing at the fake, with the plan's three rotations filled in and
    retries that do not wait. Returned so that tests can change a key and ``configure`` again."""
    values: dict[str, Any] = {
        "EVENTS_URL": pagerduty.events_url,
        "API_URL": pagerduty.api_url,
        "API_TOKEN": TOKEN,
        "SCHEDULES": {
            "primary": {"NAME": "Primary On-Call", "USERS": USERS["primary"]},
            "secondary": {"NAME": "Secondary On-Call", "USERS": USERS["secondary"]},
            "manager": {"NAME": "Manager On-Call", "USERS": USERS["manager"], "ROTATION_DAYS": 28},
        },
        "BACKOFF_SECONDS": 0.01,
        "BACKOFF_MAX_SECONDS": 0.05,
    }
    configure(settings, **values)
    return values
