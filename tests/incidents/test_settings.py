"""The incident settings: validated when read, refused in one line, never a crash."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.checks import run_checks
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from nzila_ops.conf import get_config
from nzila_ops.events import Severity, health_component, severity_for
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.incidents import service
from nzila_ops.models import Delivery, Incident

STORAGE = {"default": "file:///tmp/nzila-incident-tests"}


def configure(settings: Any, **ops: Any) -> None:
    settings.NZILA_OPS = {"STORAGES": STORAGE, **ops}


def test_the_default_severities_are_the_plans(settings: Any) -> None:
    configure(settings)
    expected = {
        "database": "P0", "payments_api": "P0", "api": "P1", "auth_api": "P1",
        "deals_api": "P1", "vehicles_api": "P1", "celery_workers": "P1", "redis": "P1",
        "backup:default": "P1", "rpo:default": "P1", "websocket": "P2", "admin_portal": "P2",
        "drill:default": "P2", "disk": "P3",
    }  # fmt: skip
    assert {c: severity_for(c).value for c in expected} == expected
    # Degraded, not failing: P3; a check nobody named: by whether it is critical.
    assert severity_for(health_component("backup_freshness"), warning=True) is Severity.P3
    assert severity_for("celery_beat", critical=False) is Severity.P2
    assert severity_for("search_api", critical=True) is Severity.P1


def test_a_host_overrides_one_component_and_keeps_the_other_defaults(settings: Any) -> None:
    configure(settings, INCIDENT_SEVERITIES={"redis": "P2", "backup:archive": "P3"})
    assert severity_for("redis") is Severity.P2
    assert severity_for("backup:archive") is Severity.P3
    assert severity_for("backup:default") is Severity.P1
    assert severity_for("database") is Severity.P0


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ({"INCIDENT_SEVERITIES": {"redis": "high"}}, r"invalid entries \['redis'\]: use P0"),
        ({"INCIDENT_SEVERITIES": ["P1"]}, "must be a dict of name -> P0"),
        ({"INCIDENT_NOTIFIERS": "nzila_ops.notify.email.EmailIncidentNotifier"}, "list of dotted"),
        ({"INCIDENT_FLAP_SECONDS": 0}, r"\['INCIDENT_FLAP_SECONDS'\] must be a number from 1 to"),
        ({"INCIDENT_FLAP_SECONDS": float("nan")}, "must be a number from 1 to 604800"),
        ({"INCIDENT_DELIVERY_RETRY_SECONDS": float("inf")}, "must be a number from 1 to 86400"),
        ({"INCIDENT_DELIVERY_MAX_ATTEMPTS": True}, "must be a number from 1 to 1000"),
        ({"INCIDENT_RETRY_CRON": "every minute"}, "must be a crontab with 5 fields"),
    ],
)
def test_bad_incident_settings_are_refused_in_one_line(
    settings: Any, ops: dict, message: str
) -> None:
    configure(settings, **ops)
    with pytest.raises(ConfigurationError, match=message) as caught:
        get_config()
    assert "\n" not in str(caught.value)


ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                               max_size=3),
    max_leaves=8,
)  # fmt: skip


@hypothesis_settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(["INCIDENT_SEVERITIES", "INCIDENT_NOTIFIERS", "INCIDENT_FLAP_SECONDS",
                         "INCIDENT_DELIVERY_RETRY_SECONDS", "INCIDENT_DELIVERY_MAX_ATTEMPTS",
                         "INCIDENT_RETRY_CRON"]),
    value=ANY_VALUE,
)  # fmt: skip
def test_any_value_is_accepted_or_refused_never_a_crash(
    settings: Any, key: str, value: Any
) -> None:
    configure(settings, **{key: value})
    try:
        config = get_config()
    except ConfigurationError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    if key in ("INCIDENT_FLAP_SECONDS", "INCIDENT_DELIVERY_RETRY_SECONDS"):
        # Accepted: the times the service computes from it exist.
        assert timezone.now() + timedelta(seconds=config[key]) > timezone.now()
    if key == "INCIDENT_SEVERITIES":
        assert all(severity_for(str(name)) in Severity for name in config[key])


def test_a_wrong_notifier_path_is_a_system_check_error_and_never_stops_an_incident(
    settings: Any, transactional_db: Any
) -> None:
    configure(settings, INCIDENT_NOTIFIERS=[
        "nzila_ops.notify.email.EmailIncidentNotifier", "nowhere.Notifier",
        "nzila_ops.notify.email.EmailNotifier",  # a Notifier, not an IncidentNotifier
    ])  # fmt: skip
    errors = [m.msg for m in run_checks() if m.id == "nzila_ops.E005"]
    assert errors == [
        "cannot import incident notifier nowhere.Notifier: No module named 'nowhere'",
        "incident notifier nzila_ops.notify.email.EmailNotifier is not an IncidentNotifier "
        "with a name",
    ]
    incident, opened = service.open_incident(
        key="redis", component="redis", severity="P1", source="health", title="redis is DOWN"
    )
    assert opened and Incident.objects.get() == incident
    assert list(Delivery.objects.values_list("notifier", "status")) == [("email", "sent")]
