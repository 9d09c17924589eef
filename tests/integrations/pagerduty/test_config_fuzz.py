"""Any NZILA_OPS['PAGERDUTY'] is either accepted or refused in one line: never a crash."""

from __future__ import annotations

from typing import Any

from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from nzila_ops.conf import DEFAULTS
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.integrations.pagerduty.client import service_for
from nzila_ops.integrations.pagerduty.config import pagerduty_config

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10_000),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["09:00", "monday", "UTC", "primary", "API"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
keys = st.sampled_from(sorted(DEFAULTS["PAGERDUTY"]))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=3), st.booleans())
def test_any_setting_is_accepted_or_refused_in_one_line(given_: dict[str, Any], sync: bool) -> None:
    with override_settings(NZILA_OPS={"PAGERDUTY": given_}):
        try:
            config = pagerduty_config(for_sync=sync)
        except ConfigurationError as exc:
            assert "\n" not in str(exc) and str(exc)
            return
    # Accepted: every component maps to a configured service.
    assert service_for("database", config) in config["SERVICES"]


@given(st.text(max_size=80))
def test_every_component_maps_to_a_configured_service(component: str) -> None:
    assert service_for(component, DEFAULTS["PAGERDUTY"]) in DEFAULTS["PAGERDUTY"]["SERVICES"]


def shaped(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with the right keys (and sometimes a wrong one) holding anything."""
    return st.dictionaries(st.sampled_from([*fields, "OTHER"]), values, max_size=len(fields) + 1)


schedules = st.dictionaries(
    st.sampled_from(["primary", "secondary", "x"]),
    st.one_of(values, shaped(["NAME", "USERS", "ROTATION_DAYS"])),
    max_size=3,
)
levels = st.lists(st.one_of(values, shaped(["SCHEDULES", "DELAY_MINUTES"])), max_size=3)
policies = st.dictionaries(
    st.sampled_from(["High Priority", "Critical Infrastructure", "x"]),
    st.one_of(values, st.fixed_dictionaries({"LEVELS": levels}, optional={"REPEAT": values})),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(schedules, policies, st.one_of(values, st.dictionaries(st.text(max_size=5), values)))
def test_any_schedules_and_policies_are_accepted_or_refused_in_one_line(
    schedules_: Any, policies_: Any, services: Any
) -> None:
    given_ = {
        "SCHEDULES": schedules_,
        "ESCALATION_POLICIES": policies_,
        "SERVICES": services,
        "API_TOKEN": "t",
    }
    with override_settings(NZILA_OPS={"PAGERDUTY": given_}):
        try:
            pagerduty_config(for_sync=True)
        except ConfigurationError as exc:
            assert "\n" not in str(exc) and str(exc)
