"""System checks of the PagerDuty settings: E006 (invalid) and W003 (check --deploy: a service
the PagerDuty notifier would page has no routing key)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from tests.integrations.pagerduty.conftest import configure

NOTIFIER = "nzila_ops.integrations.pagerduty.notifier.PagerDutyNotifier"


def messages(deploy: bool = False) -> list[tuple[str, str]]:
    found = checks.run_checks(include_deployment_checks=deploy)
    return [(m.id, m.msg) for m in found if m.id in ("nzila_ops.E006", "nzila_ops.W003")]


def test_the_defaults_pass(settings: Any) -> None:
    assert messages(deploy=True) == []


def test_a_level_naming_an_unknown_schedule_is_e006(settings: Any) -> None:
    configure(
        settings,
        ESCALATION_POLICIES={
            "High Priority": {"LEVELS": [{"SCHEDULES": ["nights"], "DELAY_MINUTES": 5}]},
        },
    )

    ((check_id, text),) = messages()

    assert check_id == "nzila_ops.E006"
    assert "'nights' is not in SCHEDULES" in text and "High Priority" in text


def test_paging_with_services_lacking_a_routing_key_warns_on_deploy(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "INCIDENT_NOTIFIERS": [NOTIFIER]}
    configure(settings, ROUTING_KEYS={"Database": "a" * 32, "Payments": "b" * 32})

    assert messages() == []
    ((check_id, text),) = messages(deploy=True)

    assert check_id == "nzila_ops.W003"
    assert "API, Auth, Celery, Infrastructure have no routing key" in text
    assert "a" * 32 not in text


def test_no_warning_when_every_service_has_its_key_or_nothing_pages(settings: Any) -> None:
    keys = {
        s: f"{n:032d}"
        for n, s in enumerate(("API", "Database", "Payments", "Celery", "Auth", "Infrastructure"))
    }
    configure(settings, ROUTING_KEYS={"Database": "a" * 32})
    assert messages(deploy=True) == []  # the PagerDuty notifier is not in INCIDENT_NOTIFIERS
    settings.NZILA_OPS = {**settings.NZILA_OPS, "INCIDENT_NOTIFIERS": [NOTIFIER]}
    configure(settings, ROUTING_KEYS=keys)
    assert messages(deploy=True) == []
