"""sync_pagerduty against a local server speaking PagerDuty's REST API v2."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from nzila_ops.integrations.pagerduty.provisioning import sync_pagerduty
from nzila_ops.integrations.pagerduty.transport import PagerDutyError
from tests.integrations.pagerduty.conftest import TOKEN, USERS, configure
from tests.support.fake_pagerduty import FakePagerDuty

SERVICES = {
    "Nzila API": "Nzila High Priority",
    "Nzila Database": "Nzila Critical Infrastructure",
    "Nzila Payments": "Nzila Critical Infrastructure",
    "Nzila Celery": "Nzila High Priority",
    "Nzila Auth": "Nzila High Priority",
    "Nzila Infrastructure": "Nzila Medium Priority",
}


def run_command(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("sync_pagerduty", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def command_error(*args: str) -> CommandError:
    with pytest.raises(CommandError) as caught:
        run_command(*args)
    return caught.value


def user_emails(pagerduty: FakePagerDuty, layer: dict[str, Any]) -> list[str]:
    users = pagerduty.objects["users"]
    return [users[entry["user"]["id"]]["email"] for entry in layer["users"]]


def test_first_run_creates_the_plans_schedules_policies_and_services(
    pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    changes = sync_pagerduty()

    assert {c.action for c in changes} == {"created"}
    schedules = pagerduty.named("schedules")
    assert set(schedules) == {
        "Nzila Primary On-Call",
        "Nzila Secondary On-Call",
        "Nzila Manager On-Call",
    }
    for key, name, days in (
        ("primary", "Primary", 7),
        ("secondary", "Secondary", 7),
        ("manager", "Manager", 28),
    ):
        schedule = schedules[f"Nzila {name} On-Call"]
        assert schedule["time_zone"] == "UTC"
        (layer,) = schedule["schedule_layers"]
        assert user_emails(pagerduty, layer) == USERS[key]
        assert layer["rotation_turn_length_seconds"] == days * 86400
        # Hand-off on Mondays at 09:00 (the defaults).
        start = datetime.fromisoformat(layer["rotation_virtual_start"])
        assert (start.weekday(), start.astimezone(UTC).time().isoformat()) == (0, "09:00:00")

    ids = {s["id"]: name for name, s in schedules.items()}
    policies = pagerduty.named("escalation_policies")
    levels = {
        name: [
            (rule["escalation_delay_in_minutes"], [ids[t["id"]] for t in rule["targets"]])
            for rule in policy["escalation_rules"]
        ]
        for name, policy in policies.items()
    }
    primary, secondary, manager = (
        f"Nzila {n} On-Call" for n in ("Primary", "Secondary", "Manager")
    )
    assert levels == {
        "Nzila Critical Infrastructure": [(5, [primary]), (5, [secondary]), (10, [manager])],
        "Nzila High Priority": [(15, [primary]), (15, [secondary]), (30, [manager])],
        "Nzila Medium Priority": [(30, [primary]), (30, [secondary])],
    }
    assert {n: p["num_loops"] for n, p in policies.items()} == {
        "Nzila Critical Infrastructure": 2,
        "Nzila High Priority": 1,
        "Nzila Medium Priority": 0,
    }

    policy_names = {p["id"]: name for name, p in policies.items()}
    services = pagerduty.named("services")
    assert {n: policy_names[s["escalation_policy"]["id"]] for n, s in services.items()} == SERVICES
    for service in services.values():
        assert service["incident_urgency_rule"] == {"type": "constant", "urgency": "severity_based"}
        (integration,) = service["integrations"]
        assert integration["type"] == "events_api_v2_inbound_integration"
    keys = {c.service: c.routing_key for c in changes if c.routing_key}
    assert keys == {
        name.removeprefix("Nzila "): s["integrations"][0]["integration_key"]
        for name, s in services.items()
    }


def test_second_run_makes_no_writes_and_shows_no_routing_key(
    pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    first, _ = run_command()
    keys = [
        i["integration_key"]
        for s in pagerduty.objects["services"].values()
        for i in s["integrations"]
    ]
    assert len(keys) == 6 and all(key in first for key in keys)
    writes = len(pagerduty.writes())

    second, _ = run_command()

    assert len(pagerduty.writes()) == writes
    lines = second.splitlines()
    assert len(lines) == 3 + 3 + 6 + 6
    assert all(" unchanged " in line + " " for line in lines)
    assert not any(key in second for key in keys)
    assert len(pagerduty.objects["services"]) == 6


def test_dry_run_writes_nothing_and_says_what_would_be_created(
    pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    out, _ = run_command("--dry-run")

    assert pagerduty.writes() == []
    assert pagerduty.objects["services"] == {} and pagerduty.objects["schedules"] == {}
    assert out.count("would be created") == 18
    assert "Nzila Database" in out and "routing key" not in out.lower()


def change_schedule(settings: Any, values: dict[str, Any], key: str, **fields: Any) -> None:
    schedules = {**values["SCHEDULES"], key: {**values["SCHEDULES"][key], **fields}}
    configure(settings, **{**values, "SCHEDULES": schedules})


def test_dry_run_after_a_change_shows_the_update_and_makes_none(
    settings: Any, pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    sync_pagerduty()
    writes = len(pagerduty.writes())
    change_schedule(settings, pd_settings, "primary", ROTATION_DAYS=14)

    changes = sync_pagerduty(dry_run=True)

    assert len(pagerduty.writes()) == writes
    updated = [(c.name, c.fields) for c in changes if c.action == "updated"]
    assert updated == [("Nzila Primary On-Call", ("rotation_days",))]


def test_a_changed_rotation_updates_our_layer_and_keeps_the_operators_own(
    settings: Any, pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    sync_pagerduty()
    schedule = pagerduty.named("schedules")["Nzila Primary On-Call"]
    holiday = {
        "id": "PLHOLI1",
        "name": "Holiday cover",
        "end": None,
        "users": [],
        "rotation_turn_length_seconds": 86400,
    }
    schedule["schedule_layers"].append(holiday)
    writes = len(pagerduty.writes())
    change_schedule(settings, pd_settings, "primary", USERS=["grace@example.com"], ROTATION_DAYS=14)

    changes = sync_pagerduty()

    assert [(c.name, c.action, c.fields) for c in changes if c.action != "unchanged"] == [
        ("Nzila Primary On-Call", "updated", ("users", "rotation_days"))
    ]
    (write,) = pagerduty.writes()[writes:]
    assert (write.method, write.path) == ("PUT", f"/schedules/{schedule['id']}")
    ours, kept = pagerduty.named("schedules")["Nzila Primary On-Call"]["schedule_layers"]
    assert user_emails(pagerduty, ours) == ["grace@example.com"]
    assert ours["rotation_turn_length_seconds"] == 14 * 86400
    assert kept == holiday
    assert [c.action for c in sync_pagerduty()] == ["unchanged"] * 18


def test_changed_delays_and_handoff_are_updated_and_nothing_is_ever_deleted(
    settings: Any, pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    sync_pagerduty()
    policies = {
        "Critical Infrastructure": {
            "LEVELS": [
                {"SCHEDULES": ["primary", "secondary"], "DELAY_MINUTES": 3},
                {"SCHEDULES": ["manager"], "DELAY_MINUTES": 10},
            ],
            "REPEAT": 3,
        },
        "High Priority": {"LEVELS": [{"SCHEDULES": ["primary"], "DELAY_MINUTES": 15}]},
    }
    services = {name: "High Priority" for name in ("API", "Database", "Payments")}
    configure(
        settings,
        **{
            **pd_settings,
            "ESCALATION_POLICIES": policies,
            "SERVICES": services,
            "HANDOFF_DAY": "Friday",
            "HANDOFF_TIME": "17:30",
            "TIME_ZONE": "Africa/Lagos",
            "COMPONENT_SERVICES": {},
        },
    )
    writes = len(pagerduty.writes())

    changes = sync_pagerduty()

    assert {(c.kind, c.name, c.action, c.fields) for c in changes if c.action != "unchanged"} == {
        ("schedule", f"Nzila {n} On-Call", "updated", ("time_zone", "handoff"))
        for n in ("Primary", "Secondary", "Manager")
    } | {
        ("escalation policy", "Nzila Critical Infrastructure", "updated", ("repeat", "levels")),
        ("escalation policy", "Nzila High Priority", "updated", ("repeat", "levels")),
        ("service", "Nzila Database", "updated", ("escalation_policy",)),
        ("service", "Nzila Payments", "updated", ("escalation_policy",)),
    }
    assert {w.method for w in pagerduty.writes()[writes:]} == {"PUT"}
    critical = pagerduty.named("escalation_policies")["Nzila Critical Infrastructure"]
    assert [len(rule["targets"]) for rule in critical["escalation_rules"]] == [2, 1]
    layer = pagerduty.named("schedules")["Nzila Manager On-Call"]["schedule_layers"][0]
    # 17:30 in Lagos (UTC+1, no daylight saving) on a Friday.
    start = datetime.fromisoformat(layer["rotation_virtual_start"]).astimezone(UTC)
    assert (start.weekday(), start.time().isoformat()) == (4, "16:30:00")
    # Medium Priority and the services no longer configured are left as they are.
    assert len(pagerduty.objects["escalation_policies"]) == 3
    assert len(pagerduty.objects["services"]) == 6
    assert not any(r.method == "DELETE" for r in pagerduty.requests)
    assert {c.action for c in sync_pagerduty()} == {"unchanged"}


def test_objects_made_by_hand_are_left_alone(
    pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    sync_pagerduty()
    database = pagerduty.named("services")["Nzila Database"]
    by_hand = {"id": "PIHAND1", "type": "generic_email_inbound_integration", "name": "E-mail"}
    database["integrations"].append(by_hand)
    other = pagerduty._store(
        "services", {"name": "API", "integrations": [], "escalation_policy": {"id": "PEOTHER"}}
    )
    writes = len(pagerduty.writes())

    assert {c.action for c in sync_pagerduty()} == {"unchanged"}
    assert len(pagerduty.writes()) == writes
    assert database["integrations"][1] == by_hand
    assert pagerduty.objects["services"][other]["escalation_policy"] == {"id": "PEOTHER"}


def test_a_missing_token_is_one_line_and_exit_2(
    settings: Any, pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    configure(settings, **{**pd_settings, "API_TOKEN": None})

    error = command_error()

    assert error.returncode == 2
    assert "\n" not in str(error) and "API_TOKEN" in str(error)
    assert pagerduty.requests == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SERVICES": {"API": "Low Priority"}}, "SERVICES"),
        ({"HANDOFF_TIME": "9am"}, "HANDOFF_TIME"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE"),
        (
            {
                "ESCALATION_POLICIES": {
                    "High Priority": {"LEVELS": [{"SCHEDULES": ["night"], "DELAY_MINUTES": 5}]}
                }
            },
            "ESCALATION_POLICIES",
        ),
        ({"ATTEMPTS": 0}, "ATTEMPTS"),
        ({"COMPONENT_SERVICES": {"database": "DB"}}, "COMPONENT_SERVICES"),
        ({"SCHEDULES": {"primary": {"USERS": []}}}, "USERS"),
    ],
)
def test_a_bad_setting_is_one_line_exit_2_and_nothing_is_written(
    settings: Any,
    pagerduty: FakePagerDuty,
    pd_settings: dict[str, Any],
    change: dict[str, Any],
    named: str,
) -> None:
    configure(settings, **{**pd_settings, **change})

    error = command_error()

    assert error.returncode == 2
    assert "\n" not in str(error) and named in str(error)
    assert pagerduty.writes() == []


def test_a_user_pagerduty_does_not_know_changes_nothing(
    settings: Any, pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    change_schedule(settings, pd_settings, "manager", USERS=["nobody@example.com"])

    error = command_error()

    assert error.returncode == 2
    assert "nobody@example.com" in str(error) and "nothing was changed" in str(error)
    assert pagerduty.writes() == []


def test_the_token_is_never_shown_even_when_pagerduty_refuses_it(
    settings: Any, pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    wrong = "u+wrong-token-that-must-stay-secret"
    configure(settings, **{**pd_settings, "API_TOKEN": wrong})

    error = command_error()

    assert error.returncode == 1
    assert "401" in str(error) and "Authentication failed" in str(error)
    assert wrong not in str(error) and TOKEN not in str(error)
    configure(settings, **pd_settings)
    out, err = run_command()
    assert TOKEN not in out + err
    assert all(r.authorization == f"Token token={TOKEN}" for r in pagerduty.requests[1:])


def test_rate_limited_reads_are_retried(
    pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    pagerduty.script(429, 429)

    assert len(sync_pagerduty()) == 18

    assert [r.method for r in pagerduty.requests[:3]] == ["GET"] * 3
    assert len(pagerduty.objects["services"]) == 6


def test_a_create_that_met_a_server_error_is_not_sent_again(
    pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    # PagerDuty may have made the schedule before its 502: a second POST could make two.
    pagerduty.script_writes(502)

    with pytest.raises(PagerDutyError) as caught:
        sync_pagerduty()

    assert caught.value.transient
    assert "502" in str(caught.value) and "not retried" in str(caught.value)
    assert [(w.method, w.path) for w in pagerduty.writes()] == [("POST", "/schedules")]
    assert len(sync_pagerduty()) == 18
    assert len(pagerduty.objects["schedules"]) == 3


def test_objects_are_found_by_exact_name_across_pages(
    pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    sync_pagerduty()
    # The API's query matches parts of names: ours is on the third page of 100.
    database = pagerduty.named("services")["Nzila Database"]
    del pagerduty.objects["services"][database["id"]]
    for n in range(230):
        pagerduty._store("services", {"name": f"Nzila Database (old {n})", "integrations": []})
    pagerduty.objects["services"][database["id"]] = database
    writes = len(pagerduty.writes())

    assert {c.action for c in sync_pagerduty()} == {"unchanged"}

    assert len(pagerduty.writes()) == writes
    offsets = [
        r.query["offset"]
        for r in pagerduty.requests
        if r.path == "/services" and r.query.get("query") == ["Nzila Database"]
    ]
    assert offsets[-3:] == [["0"], ["100"], ["200"]]


def test_an_answer_not_shaped_as_documented_is_one_line(
    pagerduty: FakePagerDuty, pd_settings: dict[str, Any]
) -> None:
    sync_pagerduty()
    pagerduty.named("services")["Nzila API"]["escalation_policy"] = "PE00001"

    error = command_error()

    assert error.returncode == 1 and "\n" not in str(error)
    assert "PagerDuty answered in an unexpected shape" in str(error)
    assert "stopped after 0 write(s)" in str(error)
