"""sync_monitors and sync_uptimerobot against a local server speaking UptimeRobot API v2."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from nzila_ops.exceptions import ConfigurationError, OpsError
from nzila_ops.integrations.uptimerobot.client import HEALTHY_KEYWORD, sync_monitors
from tests.support.fake_uptimerobot import FakeUptimeRobot
from tests.support.s3 import free_port

API_KEY = "u123456-0a1b2c3d4e5f60718293a4b5"
BASE_URL = "https://hub.example.com"
CHECKS = ["database", "redis", "payments_api"]
HEALTH_URLS = {
    f"{BASE_URL}/ops/health/",
    f"{BASE_URL}/ops/health/database/",
    f"{BASE_URL}/ops/health/redis/",
    f"{BASE_URL}/ops/health/payments_api/",
}
WRITES = {"newMonitor", "editMonitor"}


@pytest.fixture
def robot(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUptimeRobot]:
    # A proxy from the environment must not carry requests for 127.0.0.1 off this machine.
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with FakeUptimeRobot(API_KEY) as fake:
        yield fake


@pytest.fixture
def robot_settings(settings: Any, robot: FakeUptimeRobot) -> Any:
    """UptimeRobot settings pointing at the fake; tests replace keys with ``configure``."""
    configure(
        settings,
        API_KEY=API_KEY,
        API_URL=robot.api_url,
        BASE_URL=BASE_URL,
        INTERVAL=600,
        ALERT_CONTACTS=["0123456", "7654321"],
    )
    return settings


def configure(settings: Any, **uptimerobot: Any) -> None:
    # Only the keys given: the rest of UPTIMEROBOT must come from the defaults.
    settings.NZILA_OPS = {**settings.NZILA_OPS, "UPTIMEROBOT": uptimerobot}


def uptimerobot_settings(settings: Any) -> dict[str, Any]:
    return dict(settings.NZILA_OPS["UPTIMEROBOT"])


def test_monitor_urls_follow_where_the_host_mounts_the_endpoints(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    robot_settings.ROOT_URLCONF = "tests.health.prefixed_urls"
    sync_monitors(["database"])
    assert set(robot.by_url()) == {
        f"{BASE_URL}/internal/ops/health/",
        f"{BASE_URL}/internal/ops/health/database/",
    }


def test_sync_creates_one_keyword_monitor_per_health_endpoint(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    changes = sync_monitors(CHECKS)

    assert [(c.name, c.action) for c in changes] == [
        ("Nzila: all critical", "created"),
        ("Nzila: database", "created"),
        ("Nzila: redis", "created"),
        ("Nzila: payments_api", "created"),
    ]
    monitors = robot.by_url()
    assert set(monitors) == HEALTH_URLS
    for change in changes:
        monitor = monitors[change.url]
        assert monitor["id"] == change.monitor_id
        assert monitor["friendly_name"] == change.name
        assert monitor["type"] == 2
        # 2 = alert when the keyword is missing; 1 would alert on every healthy answer.
        assert monitor["keyword_type"] == 2
        assert monitor["keyword_value"] == '"status": "ok"' == HEALTHY_KEYWORD
        assert monitor["interval"] == 600
        assert [(c["id"], c["threshold"], c["recurrence"]) for c in monitor["alert_contacts"]] == [
            ("0123456", 0, 0),
            ("7654321", 0, 0),
        ]
    assert {call["alert_contacts"] for call in robot.calls("newMonitor")} == {
        "0123456_0_0-7654321_0_0"
    }
    assert all(r.params["format"] == "json" for r in robot.requests)


def test_second_sync_creates_nothing_and_reports_every_monitor_unchanged(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    first = sync_monitors(CHECKS)
    robot.requests.clear()

    second = sync_monitors(CHECKS)

    assert robot.methods() == ["getMonitors"]
    assert [c.action for c in second] == ["unchanged"] * 4
    assert [c.monitor_id for c in second] == [c.monitor_id for c in first]
    assert len(robot.monitors) == 4


def test_changed_interval_and_contacts_are_updated_with_edit_monitor_only(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    sync_monitors(CHECKS)
    robot.requests.clear()
    configure(
        robot_settings,
        **{
            **uptimerobot_settings(robot_settings),
            "INTERVAL": 60,
            "ALERT_CONTACTS": ["0999999_5_0"],
        },
    )

    changes = sync_monitors(CHECKS)

    assert [(c.action, c.fields) for c in changes] == [
        ("updated", ("interval", "alert_contacts"))
    ] * 4
    assert [m for m in robot.methods() if m in WRITES] == ["editMonitor"] * 4
    for call in robot.calls("editMonitor"):
        assert set(call) == {"api_key", "format", "id", "interval", "alert_contacts"}
        assert (call["interval"], call["alert_contacts"]) == ("60", "0999999_5_0")
    assert len(robot.monitors) == 4
    assert {m["interval"] for m in robot.monitors.values()} == {60}


def test_a_monitor_switched_to_alert_when_the_keyword_exists_is_put_back(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    sync_monitors(CHECKS)
    redis = robot.by_url()[f"{BASE_URL}/ops/health/redis/"]
    redis["keyword_type"] = 1
    robot.requests.clear()

    changes = sync_monitors(CHECKS)

    assert [c.action for c in changes] == ["unchanged", "unchanged", "updated", "unchanged"]
    assert robot.calls("editMonitor") == [
        {"api_key": API_KEY, "format": "json", "id": str(redis["id"]), "keyword_type": "2"}
    ]
    assert redis["keyword_type"] == 2


def test_dry_run_sends_no_write_calls(robot: FakeUptimeRobot, robot_settings: Any) -> None:
    changes = sync_monitors(CHECKS, dry_run=True)

    assert robot.methods() == ["getMonitors"]
    assert robot.monitors == {}
    assert [(c.action, c.dry_run, c.monitor_id) for c in changes] == [("created", True, None)] * 4


def test_dry_run_reports_updates_without_making_them(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    sync_monitors(CHECKS)
    configure(robot_settings, **{**uptimerobot_settings(robot_settings), "INTERVAL": 900})
    robot.requests.clear()

    changes = sync_monitors(CHECKS, dry_run=True)

    assert robot.methods() == ["getMonitors"]
    assert [(c.action, c.fields) for c in changes] == [("updated", ("interval",))] * 4
    assert {m["interval"] for m in robot.monitors.values()} == {600}


def test_monitors_of_unrelated_urls_are_left_alone(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    home = robot.add_monitor(friendly_name="Hub home page", url=f"{BASE_URL}/", interval=60)
    other = robot.add_monitor(
        friendly_name="Other app health",
        url="https://other.example.com/ops/health/",
        type=2,
        keyword_type=1,
        keyword_value="down",
    )
    before = {home: dict(robot.monitors[home]), other: dict(robot.monitors[other])}

    sync_monitors(CHECKS)

    assert {home: robot.monitors[home], other: robot.monitors[other]} == before
    assert {call["id"] for call in robot.calls("editMonitor")} == set()
    assert len(robot.monitors) == 2 + 4


def test_existing_monitors_are_found_beyond_the_first_page(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    # 60 monitors that the search matches but are not ours: ours are on the second page.
    for n in range(60):
        robot.add_monitor(friendly_name=f"old {n}", url=f"{BASE_URL}/ops/health/old{n}/")
    sync_monitors(CHECKS)
    robot.requests.clear()

    changes = sync_monitors(CHECKS)

    assert [c.action for c in changes] == ["unchanged"] * 4
    assert [(c["offset"], c["limit"]) for c in robot.calls("getMonitors")] == [
        ("0", "50"),
        ("50", "50"),
    ]
    assert len(robot.monitors) == 60 + 4


def test_a_monitor_of_another_type_on_our_url_stops_the_sync_before_any_write(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    robot.add_monitor(friendly_name="hand made", url=f"{BASE_URL}/ops/health/redis/", type=1)

    with pytest.raises(OpsError) as error:
        sync_monitors(CHECKS)

    assert "cannot change a monitor's type" in str(error.value)
    assert f"{BASE_URL}/ops/health/redis/" in str(error.value)
    assert robot.methods() == ["getMonitors"]


def test_wrong_api_key_fails_with_one_line_naming_the_api_message(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    wrong_key = "u999999-thiskeyisnotknownhere00"
    configure(robot_settings, **{**uptimerobot_settings(robot_settings), "API_KEY": wrong_key})

    with pytest.raises(OpsError) as error:
        sync_monitors(CHECKS)

    message = str(error.value)
    assert message == ("UptimeRobot getMonitors failed: invalid_parameter: api_key not found.")
    # The real API echoes the rejected key back in error.passed_value.
    assert robot.calls("getMonitors")[0]["api_key"] == wrong_key
    assert wrong_key not in message
    assert robot.monitors == {}


def test_an_http_error_from_the_api_is_one_line_without_the_key(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    robot.http_error = 503

    with pytest.raises(OpsError) as error:
        sync_monitors(CHECKS)

    assert str(error.value) == "UptimeRobot getMonitors failed: HTTP 503 Service Unavailable"


def test_the_rate_limit_is_reported_with_when_to_retry(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    robot.http_error = 429
    with pytest.raises(OpsError) as error:
        sync_monitors(CHECKS)
    assert str(error.value) == (
        "UptimeRobot getMonitors failed: rate limited (HTTP 429), retry after 60 s"
    )
    assert robot.monitors == {}


def test_an_answer_that_is_not_json_is_one_line(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    robot.raw_answer = b"<html><body>502 Bad Gateway</body></html>"
    with pytest.raises(OpsError) as error:
        sync_monitors(CHECKS)
    assert str(error.value) == (
        "UptimeRobot getMonitors failed: answer is not JSON: "
        "b'<html><body>502 Bad Gateway</body></html>'"
    )


def test_an_unreachable_api_is_one_line_error(robot_settings: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/v2/"  # nothing listens there
    configure(robot_settings, **{**uptimerobot_settings(robot_settings), "API_URL": url})

    with pytest.raises(OpsError) as error:
        sync_monitors(CHECKS)

    assert str(error.value).startswith(f"UptimeRobot getMonitors failed: cannot reach {url}: ")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("missing", ["API_KEY", "BASE_URL"])
def test_missing_api_key_or_base_url_is_a_configuration_error(
    robot: FakeUptimeRobot, robot_settings: Any, missing: str
) -> None:
    values = uptimerobot_settings(robot_settings)
    del values[missing]
    configure(robot_settings, **values)

    with pytest.raises(ConfigurationError) as error:
        sync_monitors(CHECKS)

    assert f"NZILA_OPS['UPTIMEROBOT']['{missing}']" in str(error.value)
    assert "\n" not in str(error.value)
    assert robot.requests == []


def test_unset_settings_fall_back_to_the_defaults(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    configure(robot_settings, API_KEY=API_KEY, API_URL=robot.api_url, BASE_URL=BASE_URL + "/")

    sync_monitors(["database"])

    assert set(robot.by_url()) == {f"{BASE_URL}/ops/health/", f"{BASE_URL}/ops/health/database/"}
    assert {m["interval"] for m in robot.monitors.values()} == {300}
    assert {m["alert_contacts"] == [] for m in robot.monitors.values()} == {True}
    assert all("alert_contacts" not in call for call in robot.calls("newMonitor"))


def test_a_malformed_alert_contact_is_a_configuration_error(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    configure(
        robot_settings,
        **{**uptimerobot_settings(robot_settings), "ALERT_CONTACTS": ["ops@example.com"]},
    )

    with pytest.raises(ConfigurationError, match=r"ALERT_CONTACTS.*'ops@example.com'"):
        sync_monitors(CHECKS)


def _registry_missing() -> bool:
    try:
        return importlib.util.find_spec("nzila_ops.health.registry") is None
    except ModuleNotFoundError:
        return True


# The command lists the checks with nzila_ops.health.registry.check_names(), written separately.
needs_registry = pytest.mark.skipif(
    _registry_missing(), reason="nzila_ops.health.registry (check_names) does not exist yet"
)


@needs_registry
def test_sync_uptimerobot_prints_one_line_per_monitor(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    from nzila_ops.health.registry import check_names

    names = check_names()
    out = StringIO()

    call_command("sync_uptimerobot", "--dry-run", stdout=out)
    assert robot.monitors == {}
    assert out.getvalue().splitlines()[0].split() == [
        "Nzila:",
        "all",
        "critical",
        "would",
        "be",
        "created",
        f"{BASE_URL}/ops/health/",
    ]

    out = StringIO()
    call_command("sync_uptimerobot", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 + len(names) == len(robot.monitors)
    for line, name in zip(lines[1:], names, strict=True):
        assert line.split() == [
            "Nzila:",
            name,
            "created",
            f"{BASE_URL}/ops/health/{name}/",
        ]


@needs_registry
def test_sync_uptimerobot_fails_with_the_one_line_error(
    robot: FakeUptimeRobot, robot_settings: Any
) -> None:
    configure(robot_settings, **{**uptimerobot_settings(robot_settings), "API_KEY": "u0-wrong"})

    with pytest.raises(CommandError, match=r"^UptimeRobot getMonitors failed: .*api_key not found"):
        call_command("sync_uptimerobot", stdout=StringIO())
