"""The Events API v2 client against a local server speaking Events API v2: retries and limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops.conf import DEFAULTS
from nzila_ops.integrations.pagerduty.client import (
    MAX_DEDUP_KEY,
    EventsClient,
    build_event,
    pagerduty_dedup_key,
    service_for,
)
from nzila_ops.integrations.pagerduty.transport import PagerDutyError, RetryPolicy
from tests.support.fake_pagerduty import FakePagerDuty
from tests.support.s3 import free_port

# Retries that do not wait: the tests count tries, never time.
FAST = RetryPolicy(attempts=3, backoff=0.001, backoff_max=0.01, timeout=5)


def trigger(routing_key: str, key: str = "health:database") -> dict[str, object]:
    return build_event(
        "trigger",
        routing_key=routing_key,
        dedup_key=key,
        summary="database is down",
        source="database",
        severity="critical",
        component="database",
        timestamp=datetime(2026, 11, 29, 15, 0, tzinfo=UTC),
    )


def test_a_trigger_then_acknowledge_and_resolve_follow_one_alert(
    pagerduty: FakePagerDuty,
) -> None:
    key = pagerduty.add_routing_key()
    client = EventsClient(pagerduty.events_url, FAST)

    assert client.send(trigger(key)) == "health:database"
    (alert,) = pagerduty.alerts.values()
    assert (alert.status, alert.severity, alert.summary) == (
        "triggered",
        "critical",
        "database is down",
    )
    client.send(build_event("acknowledge", routing_key=key, dedup_key="health:database"))
    assert alert.status == "acknowledged"
    client.send(build_event("resolve", routing_key=key, dedup_key="health:database"))
    assert alert.status == "resolved"
    assert [e["event_action"] for e in pagerduty.accepted] == ["trigger", "acknowledge", "resolve"]
    assert "payload" not in pagerduty.accepted[1]


def test_rate_limited_then_accepted_is_delivered_once(pagerduty: FakePagerDuty) -> None:
    key = pagerduty.add_routing_key()
    pagerduty.script(429)

    EventsClient(pagerduty.events_url, FAST).send(trigger(key))

    assert len(pagerduty.enqueued()) == 2
    assert len(pagerduty.accepted) == 1
    assert len(pagerduty.alerts) == 1


def test_an_event_pagerduty_refuses_is_not_retried_and_is_permanent(
    pagerduty: FakePagerDuty,
) -> None:
    unknown_key = "0123456789abcdef0123456789abcdef"

    with pytest.raises(PagerDutyError) as caught:
        EventsClient(pagerduty.events_url, FAST).send(trigger(unknown_key))

    assert not caught.value.transient and caught.value.status == 400
    assert "HTTP 400" in str(caught.value) and "routing_key" in str(caught.value)
    assert unknown_key not in str(caught.value)
    assert len(pagerduty.enqueued()) == 1


def test_server_errors_past_the_bound_are_a_transient_failure(pagerduty: FakePagerDuty) -> None:
    key = pagerduty.add_routing_key()
    pagerduty.script(500, 502, 503, 504)

    with pytest.raises(PagerDutyError) as caught:
        EventsClient(pagerduty.events_url, FAST).send(trigger(key))

    assert caught.value.transient and caught.value.status == 503
    assert "given up after 3 tries" in str(caught.value)
    assert len(pagerduty.enqueued()) == 3 and pagerduty.accepted == []


def test_no_server_at_all_is_a_transient_failure_that_names_no_key() -> None:
    url = f"http://127.0.0.1:{free_port()}/v2/enqueue"
    routing_key = "fedcba9876543210fedcba9876543210"

    with pytest.raises(PagerDutyError) as caught:
        EventsClient(url, FAST).send(trigger(routing_key))

    assert caught.value.transient and caught.value.status is None
    assert "cannot reach http://127.0.0.1" in str(caught.value)
    assert routing_key not in str(caught.value)


def test_a_retry_after_longer_than_we_wait_gives_up_at_once() -> None:
    policy = RetryPolicy(attempts=5, backoff=1, backoff_max=10)
    assert policy.wait(1, "120") is None
    assert policy.wait(1, "3") == 3
    assert policy.wait(1, "Wed, 21 Oct 2026 07:28:00 GMT") == 1
    assert [policy.wait(n, None) for n in range(1, 6)] == [1, 2, 4, 8, None]


def test_components_map_to_the_plans_services() -> None:
    config = DEFAULTS["PAGERDUTY"]
    assert {
        component: service_for(component, config)
        for component in (
            "database",
            "database_replica",
            "migrations",
            "payments_api",
            "celery_workers",
            "celery_beat",
            "auth_api",
            "deals_api",
            "vehicles_api",
            "websocket",
            "admin_portal",
            "backup:default",
            "backup_storage",
            "drill:default",
            "rpo:default",
            "redis",
            "disk",
        )
    } == {
        "database": "Database",
        "database_replica": "Database",
        "migrations": "Database",
        "payments_api": "Payments",
        "celery_workers": "Celery",
        "celery_beat": "Celery",
        "auth_api": "Auth",
        "deals_api": "API",
        "vehicles_api": "API",
        "websocket": "API",
        "admin_portal": "API",
        "backup:default": "Infrastructure",
        "backup_storage": "Infrastructure",
        "drill:default": "Infrastructure",
        "rpo:default": "Infrastructure",
        "redis": "Infrastructure",
        "disk": "Infrastructure",
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.text(min_size=1, max_size=600),
    summary=st.text(max_size=3000),
    component=st.text(max_size=400),
    severity=st.sampled_from(["critical", "error", "warning", "info"]),
    action=st.sampled_from(["trigger", "acknowledge", "resolve"]),
)
def test_any_incident_makes_an_event_pagerduty_accepts(
    pagerduty: FakePagerDuty, key: str, summary: str, component: str, severity: str, action: str
) -> None:
    routing_key = pagerduty.add_routing_key()
    event = build_event(
        action,
        routing_key=routing_key,
        dedup_key=key,
        summary=summary,
        source=component,
        severity=severity,
        component=component,
        custom_details={"detail": summary},
    )
    json.dumps(event)  # serialisable as it is

    EventsClient(pagerduty.events_url, FAST).send(event)

    assert pagerduty.accepted[-1]["dedup_key"] == pagerduty_dedup_key(key)
    assert len(pagerduty_dedup_key(key)) <= MAX_DEDUP_KEY
    if len(key) > MAX_DEDUP_KEY:
        assert pagerduty_dedup_key(key) != pagerduty_dedup_key(key[:-1] + "\x00")


def test_a_redirect_is_reported_not_followed(pagerduty: FakePagerDuty) -> None:
    # Followed, a 302 would turn the POST into a GET without the event.
    key = pagerduty.add_routing_key()
    pagerduty.script(302)

    with pytest.raises(PagerDutyError) as caught:
        EventsClient(pagerduty.events_url, FAST).send(trigger(key))

    assert not caught.value.transient and "HTTP 302" in str(caught.value)
    assert [r.method for r in pagerduty.requests] == ["POST"]
