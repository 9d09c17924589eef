"""Whatever reaches a webhook is answered or refused in JSON, never a 500; unsigned, it changes
nothing. The webhooks are on the internet without a login: scanners, replays and vendors' odd
payloads all arrive here."""

from __future__ import annotations

import string
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops.models import Incident, IncidentEvent
from tests.integrations.webhooks import payloads
from tests.integrations.webhooks.conftest import PAGERDUTY_URL, SENTRY_URL

pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])  # fmt: skip

any_text = st.text(max_size=40)
# Header values as a WSGI server hands them over: bytes decoded as latin-1.
latin1 = st.binary(max_size=80).map(lambda raw: raw.decode("latin-1"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(payloads.dumps),
    st.integers(1, 2000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(1, 3000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
)
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"])
vendor_headers = st.dictionaries(
    st.sampled_from(["X-PagerDuty-Signature", "X-Webhook-Id", "Sentry-Hook-Signature",
                     "Sentry-Hook-Resource", "Content-Type", "Request-ID",
                     "Sentry-Hook-Timestamp", "Cookie", "X-CSRFToken"]),
    # Only what a WSGI server can hand over (a test client's non-latin-1 Cookie is Django's
    # own crash, before any view).
    st.one_of(latin1, st.sampled_from(["v1=", "v1=,v1=", "metric_alert", "issue",
                                                 "event_alert", "application/json"])),
    max_size=5,
)  # fmt: skip
tokens = st.one_of(
    st.just(payloads.UPTIMEROBOT_TOKEN),
    st.text(alphabet=string.ascii_letters + string.digits + "-_.~%", min_size=1, max_size=80),
    latin1.filter(lambda t: t and "/" not in t and "?" not in t and "#" not in t),
)


def vendor() -> Client:
    # Like a vendor: no CSRF cookie, and the CSRF checks on as in production.
    return Client(enforce_csrf_checks=True)


def assert_answered(response: Any, method: str = "POST") -> None:
    assert response.status_code < 500, response.content[:200]
    assert response["Content-Type"] == "application/json"
    if method != "HEAD":  # a HEAD answer has no body
        assert isinstance(response.json(), dict)


def nothing_recorded() -> bool:
    return not Incident.objects.exists() and not IncidentEvent.objects.exists()


@FUZZ
@given(
    url=st.sampled_from([PAGERDUTY_URL, SENTRY_URL]),
    method=methods,
    headers=vendor_headers,
    body=bodies,
)
def test_unsigned_requests_are_refused_and_record_nothing(
    webhook_settings: Any, url: str, method: str, headers: dict[str, str], body: bytes
) -> None:
    response = vendor().generic(method, url, body, headers=headers)

    assert_answered(response, method)
    assert response.status_code in (401, 405)
    assert nothing_recorded()


@FUZZ
@given(token=tokens, method=methods, query=st.dictionaries(any_text, any_text, max_size=6),
       body=bodies)  # fmt: skip
def test_uptimerobot_requests_of_any_shape_are_answered(
    webhook_settings: Any, token: str, method: str, query: dict[str, str], body: bytes
) -> None:
    from urllib.parse import quote, urlencode

    url = f"/ops/webhooks/uptimerobot/{quote(token, safe='')}/?{urlencode(query)}"
    response = vendor().generic(method, url, body, content_type="application/x-www-form-urlencoded")

    assert_answered(response, method)
    if token != payloads.UPTIMEROBOT_TOKEN:
        assert response.status_code in (403, 404, 405)
        assert nothing_recorded()


pagerduty_events = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "event_type": st.one_of(json_values, st.sampled_from(
            ["incident.acknowledged", "incident.resolved", "incident.reopened"])),
        "occurred_at": st.one_of(json_values, st.sampled_from(
            ["2026-03-02T10:03:30Z", "2026-13-45T99:99:99Z", "0001-01-01T00:00:00Z",
             "9999-12-31T23:59:59+14:00", "2026-03-02"])),
        "agent": st.one_of(json_values, st.fixed_dictionaries({"summary": json_values})),
        "data": st.one_of(json_values, st.fixed_dictionaries(
            {"incident_key": st.one_of(json_values, st.just("database"))})),
    },
)  # fmt: skip


@FUZZ
@given(event=st.one_of(pagerduty_events, json_values), webhook_id=st.one_of(st.none(), latin1))
def test_signed_pagerduty_bodies_of_any_shape_are_answered(
    webhook_settings: Any, event: Any, webhook_id: str | None
) -> None:
    from nzila_ops.incidents import service

    service.open_incident(key="database", component="database", severity="P0",
                          source="health", title="database is DOWN")  # fmt: skip
    body = payloads.dumps({"event": event})
    headers = {
        "X-PagerDuty-Signature": payloads.pagerduty_signature(body, payloads.PAGERDUTY_SECRET)
    }
    if webhook_id is not None:
        headers["X-Webhook-Id"] = webhook_id

    response = vendor().post(PAGERDUTY_URL, body, content_type="application/json", headers=headers)

    assert_answered(response)
    assert response.status_code in (200, 400)


sentry_data = st.fixed_dictionaries(
    {},
    optional={
        "metric_alert": st.one_of(json_values, st.fixed_dictionaries(
            {"id": json_values, "date_detected": json_values, "date_closed": json_values,
             "alert_rule": json_values})),
        "event": st.one_of(json_values, st.fixed_dictionaries(
            {"issue_id": json_values, "title": json_values, "datetime": json_values})),
        "issue": st.one_of(json_values, st.fixed_dictionaries({"id": json_values})),
        "description_title": json_values,
        "triggered_rule": json_values,
    },
)  # fmt: skip


@FUZZ
@given(
    resource=st.one_of(st.sampled_from(["metric_alert", "event_alert", "issue"]), latin1),
    action=st.one_of(st.sampled_from(["critical", "warning", "resolved", "triggered"]),
                     json_values),
    data=st.one_of(sentry_data, json_values),
)  # fmt: skip
def test_signed_sentry_bodies_of_any_shape_are_answered(
    webhook_settings: Any, resource: str, action: Any, data: Any
) -> None:
    body = payloads.dumps({"action": action, "data": data})
    signature = payloads.hmac_hex(payloads.SENTRY_SECRET, body)
    headers = {"Sentry-Hook-Resource": resource, "Sentry-Hook-Signature": signature}

    response = vendor().post(SENTRY_URL, body, content_type="application/json", headers=headers)

    assert_answered(response)
    assert response.status_code in (200, 400)


uptimerobot_fields = st.fixed_dictionaries(
    {},
    optional={
        "monitorID": st.one_of(any_text, st.integers().map(str)),
        "monitorURL": st.one_of(
            any_text,
            st.builds(lambda path: "https://hub.example.com" + path,
                      st.one_of(st.sampled_from(["/ops/health/", "/ops/health/database/",
                                                 "/ops/health/x/y/", "/ops/health/%00/", "/", ""]),
                                any_text)),
        ),
        "monitorFriendlyName": st.one_of(any_text, any_text.map(lambda t: "Nzila: " + t),
                                         st.just("Nzila: all critical")),
        "alertType": st.one_of(st.sampled_from(["1", "2", "3"]), any_text),
        "alertDateTime": st.one_of(st.integers(-(10**20), 10**20).map(str), any_text),
        "alertDetails": any_text,
    },
)  # fmt: skip


@FUZZ
@given(fields=uptimerobot_fields, form=st.sampled_from(["json", "form", "query"]))
def test_uptimerobot_alerts_of_any_content_are_answered(
    webhook_settings: Any, fields: dict[str, str], form: str
) -> None:
    from urllib.parse import urlencode

    url = f"/ops/webhooks/uptimerobot/{payloads.UPTIMEROBOT_TOKEN}/"
    if form == "query":
        response = vendor().get(url + "?" + urlencode(fields))
    elif form == "form":
        response = vendor().post(url, urlencode(fields),
                                 content_type="application/x-www-form-urlencoded")  # fmt: skip
    else:
        response = vendor().post(url, payloads.dumps(fields), content_type="application/json")

    assert_answered(response)
    assert response.status_code in (200, 400)
