"""The public status page, /ops/status/ and /ops/status.json: what a customer sees."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection

from nzila_ops.models import ComponentFlip, ComponentState, Incident, IncidentEvent
from nzila_ops.sla.status import cache_key

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
PAGE, JSON_URL = "/ops/status/", "/ops/status.json"
PUBLIC = {"payments_api": "Payments API", "database": "Database"}
# What must never reach the public: internal titles, reasons, hosts, keys, internal names.
SECRETS = ("payments_api", "pay-db-01.internal", "10.0.4.17", "is DOWN", "ConnectionRefused",
           "secret_worker", "ledger_sync", "nzila_ops")  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    yield
    cache.delete(cache_key())  # the page of the default settings


@pytest.fixture
def public(settings: Any) -> Iterator[Any]:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"PUBLIC_COMPONENTS": PUBLIC}}
    yield settings
    with contextlib.suppress(Exception):  # a test may have left a dead cache configured
        cache.delete(cache_key())  # the page of this test's settings, before they are restored


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def flips(component: str, *changes: tuple[datetime, str], reason: str = "") -> None:
    old = ""
    for at, new in changes:
        ComponentFlip.objects.create(component=component, old=old, new=new, at=at, reason=reason)
        old = new


def state(component: str, status: str, *, sampled: datetime = NOW, reason: str = "") -> None:
    ComponentState.objects.create(
        component=component, status=status, since=sampled - timedelta(hours=1),
        last_sampled_at=sampled, reason=reason,
    )  # fmt: skip


def incident(component: str, title: str, **fields: Any) -> Incident:
    fields.setdefault("detected_at", NOW - timedelta(hours=2))
    fields.setdefault("source", "health")
    fields.setdefault("severity", "P0")
    row = Incident.objects.create(component=component, title=title, key=component, **fields)
    IncidentEvent.objects.create(
        incident=row, kind="opened", at=row.detected_at,
        detail="Error: ConnectionRefused pay-db-01.internal (10.0.4.17:5432)",
    )  # fmt: skip
    return row


def get_json(client: Any) -> dict[str, Any]:
    response = client.get(JSON_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def test_the_page_shows_public_names_and_titles_and_no_internal_detail(
    client: Any, public: Any, frozen: None
) -> None:
    reason = "ConnectionRefused: pay-db-01.internal (10.0.4.17)"
    flips("payments_api", (NOW - timedelta(days=30), "ok"), (NOW - timedelta(hours=2), "failing"),
          reason=reason)  # fmt: skip
    state("payments_api", "failing", reason=reason)
    state("database", "ok")
    state("secret_worker", "failing", reason="secret_worker: queue ledger_sync stuck")
    incident("payments_api", "payments_api is DOWN")
    incident("database", "database is DOWN", status="resolved", resolved_at=NOW - timedelta(days=1),
             public_title="Slow checkout for some customers")  # fmt: skip
    incident("secret_worker", "secret_worker is DOWN: ledger_sync")

    html = client.get(PAGE).content.decode()
    body = client.get(JSON_URL).content.decode()
    for text in (html, body):
        assert [secret for secret in SECRETS if secret in text] == []
        assert "Payments API disruption" in text  # no public title: the generic one
        assert "Slow checkout for some customers" in text
    assert "Some systems are experiencing an outage" in html
    document = json.loads(body)
    assert [c["name"] for c in document["components"]] == ["Payments API", "Database"]
    assert [i["title"] for i in document["incidents"]["open"]] == ["Payments API disruption"]


def test_the_json_follows_its_schema(client: Any, public: Any, frozen: None) -> None:
    flips("database", (NOW - timedelta(days=10), "ok"))
    state("database", "ok")
    incident("database", "database is degraded", status="acknowledged",
             acknowledged_at=NOW - timedelta(hours=1))  # fmt: skip
    document = get_json(client)
    assert set(document) == {"status", "generated_at", "time_zone", "days", "components",
                             "incidents"}  # fmt: skip
    assert document["generated_at"] == NOW.isoformat()
    assert document["time_zone"] == "UTC" and document["days"] == 90
    # Payments API has never been sampled (unknown); the open incident's "degraded" is worse.
    assert document["status"] == "degraded"
    database = document["components"][1]
    assert set(database) == {"name", "status", "uptime_percent", "days"}
    # Its check passes, but its open incident says degraded: the card says what is listed.
    assert (database["status"], database["uptime_percent"]) == ("degraded", 100.0)
    days = database["days"]
    assert len(days) == 90
    assert [d["date"] for d in days] == [
        (date(2026, 11, 20) - timedelta(days=89 - i)).isoformat() for i in range(90)
    ]
    assert days[-1] == {"date": "2026-11-20", "status": "up", "uptime_percent": 100.0,
                        "downtime_seconds": 0}  # fmt: skip
    assert days[0]["status"] == "no_data" and days[0]["uptime_percent"] is None
    assert document["incidents"] == {
        "open": [{"title": "Database degraded performance", "components": ["Database"],
                  "impact": "degraded", "status": "identified",
                  "started_at": (NOW - timedelta(hours=2)).isoformat(), "resolved_at": None}],
        "resolved": [],
    }  # fmt: skip


def test_each_component_has_90_day_bars_coloured_by_downtime(
    client: Any, public: Any, frozen: None
) -> None:
    yesterday = datetime(2026, 11, 19, tzinfo=UTC)
    flips("payments_api", (NOW - timedelta(days=200), "ok"),
          (yesterday + timedelta(hours=3), "failing"), (yesterday + timedelta(hours=5), "ok"),
          (NOW - timedelta(minutes=70), "failing"),
          (NOW - timedelta(minutes=65), "ok"))  # fmt: skip
    state("payments_api", "ok")
    state("database", "warning")
    html = client.get(PAGE).content.decode()
    svgs = re.findall(r"<svg class=\"bars\".*?</svg>", html, flags=re.DOTALL)
    assert [svg.count("<rect") for svg in svgs] == [90, 90]
    payments = get_json(client)["components"][0]
    assert payments["days"][-2]["status"] == "down"  # 2 hours of 24: more than 1 %
    assert payments["days"][-2]["downtime_seconds"] == 7200
    assert payments["days"][-1]["status"] == "partial"  # 5 minutes of 15.5 hours
    assert payments["days"][0]["status"] == "up"
    assert 'class="down"' in svgs[0] and "2026-11-19: 91.666 % uptime, outage" in svgs[0]
    assert "Degraded performance" in html  # the database's current state
    assert "99.903 % uptime" in html  # 90 days: 2 h 5 min down of 89 days 15.5 h observed


def test_current_state_is_unknown_when_never_sampled_or_stale(
    client: Any, public: Any, frozen: None
) -> None:
    # HEALTH_SAMPLE_GAP_SECONDS (180 s): the rule /ops/metrics and the uptime figures follow.
    state("payments_api", "ok", sampled=NOW - timedelta(seconds=181))
    components = get_json(client)["components"]
    assert [c["status"] for c in components] == ["unknown", "unknown"]
    assert all(d["status"] == "no_data" for c in components for d in c["days"])
    assert [c["uptime_percent"] for c in components] == [None, None]


def test_the_page_works_with_no_data_at_all(client: Any, public: Any, frozen: None) -> None:
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "The status of some systems is unknown" in response.content.decode()
    assert "No incidents in the last 14 days." in response.content.decode()


def test_nothing_published_is_a_page_that_says_so(client: Any, settings: Any) -> None:
    state("payments_api", "failing")
    incident("payments_api", "payments_api is DOWN")
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "No components are published on this status page." in response.content.decode()
    assert "payments_api" not in response.content.decode()
    document = get_json(client)
    assert document["components"] == [] and document["incidents"] == {"open": [], "resolved": []}


def test_drills_and_incidents_resolved_over_14_days_ago_are_not_shown(
    client: Any, public: Any, frozen: None
) -> None:
    incident("payments_api", "drill", is_drill=True, public_title="Drill outage")
    incident(
        "database",
        "old",
        status="resolved",
        detected_at=NOW - timedelta(days=15),
        resolved_at=NOW - timedelta(days=14, minutes=1),
        public_title="Old outage",
    )
    incident("database", "recent", status="resolved", detected_at=NOW - timedelta(days=14),
             resolved_at=NOW - timedelta(days=13), public_title="Recent outage")  # fmt: skip
    incidents = get_json(client)["incidents"]
    assert incidents["open"] == []
    assert [i["title"] for i in incidents["resolved"]] == ["Recent outage"]
    html = client.get(PAGE).content.decode()
    assert "Recent outage" in html and "Drill outage" not in html and "Old outage" not in html


def test_the_page_is_cached_for_the_configured_time(client: Any, public: Any, frozen: None) -> None:
    state("database", "ok")
    assert get_json(client)["components"][1]["status"] == "ok"
    ComponentState.objects.filter(component="database").update(status="failing")
    assert get_json(client)["components"][1]["status"] == "ok"  # served from the cache
    public.NZILA_OPS = {"SLA": {"PUBLIC_COMPONENTS": PUBLIC, "STATUS_CACHE_SECONDS": 0}}
    assert get_json(client)["components"][1]["status"] == "outage"


def test_a_change_of_the_public_components_shows_at_once(
    client: Any, public: Any, frozen: None
) -> None:
    assert [c["name"] for c in get_json(client)["components"]] == ["Payments API", "Database"]
    before = cache_key()
    public.NZILA_OPS = {"SLA": {"PUBLIC_COMPONENTS": {"database": "Core database"}}}
    assert [c["name"] for c in get_json(client)["components"]] == ["Core database"]
    cache.delete(before)


def test_a_failing_cache_is_computed_around_not_a_500(
    client: Any, public: Any, frozen: None, caplog: Any
) -> None:
    # Nothing listens on port 1: every cache call fails with a connection error.
    public.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                 "LOCATION": "redis://127.0.0.1:1/14"}}  # fmt: skip
    state("database", "failing")
    assert client.get(PAGE).status_code == 200
    assert get_json(client)["components"][1]["status"] == "outage"
    assert "status page cache unavailable" in caplog.text


def test_an_unreadable_database_is_a_503_that_says_so(
    client: Any, public: Any, frozen: None
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE nzila_ops_componentstate RENAME TO componentstate_away")
    response = client.get(PAGE)
    assert response.status_code == 503
    assert "The status is unavailable right now." in response.content.decode()


def test_misconfigured_settings_are_a_503_not_a_500(client: Any, settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"TIME_ZONE": "Mars/Olympus_Mons"}}
    page, document = client.get(PAGE), client.get(JSON_URL)
    assert (page.status_code, document.status_code) == (503, 503)
    assert json.loads(document.content) == {
        "status": "unknown", "error": "the status is unavailable right now"}  # fmt: skip
    assert "Mars" not in page.content.decode()


def test_it_is_read_only_phone_sized_and_runs_no_script(
    client: Any, public: Any, frozen: None
) -> None:
    assert client.post(PAGE).status_code == 405
    assert client.delete(JSON_URL).status_code == 405
    assert client.head(PAGE).status_code == 200
    response = client.get(PAGE)
    html = response.content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<script" not in html and "max-width: 48rem" in html
    assert "script-src" not in response["Content-Security-Policy"]
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert response["Cache-Control"] == "public, max-age=60"


@pytest.mark.parametrize(
    ("title", "headline", "status"),
    [
        ("payments_api is DOWN", "Some systems are experiencing an outage", "outage"),
        ("payments_api is degraded", "Some systems have degraded performance", "degraded"),
    ],
)
def test_the_headline_agrees_with_the_open_incidents(
    client: Any, public: Any, frozen: None, title: str, headline: str, status: str
) -> None:
    # Every component's check passes, but a P1 incident of Payments is open (opened by hand,
    # by Sentry, or not yet resolved): the banner must not say "All systems operational".
    state("payments_api", "ok")
    state("database", "ok")
    incident("payments_api", title, severity="P1")
    html = client.get(PAGE).content.decode()
    assert headline in html and "All systems operational" not in html
    document = get_json(client)
    assert document["status"] == status
    # Payments' own card says so too, though its check passes; the database's does not.
    assert {c["name"]: c["status"] for c in document["components"]} == {
        "Payments API": status,
        "Database": "ok",
    }
    # Resolved, it is history: operational again.
    Incident.objects.update(status="resolved", resolved_at=NOW - timedelta(minutes=5))
    cache.delete(cache_key())
    assert "All systems operational" in client.get(PAGE).content.decode()
