"""NZILA_OPS['SLA'] keys of the report: refused with one line naming the key, or merged."""

from __future__ import annotations

from typing import Any

import pytest

from nzila_ops.conf import DEFAULTS, get_config
from nzila_ops.exceptions import ConfigurationError


def sla(settings: Any, **keys: Any) -> dict[str, Any]:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": keys}
    return get_config()["SLA"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("CREDITS", "10%"), ("CREDITS", [[99.9]]), ("CREDITS", [[99.9, 0]]), ("CREDITS", [[101, 10]]),
     ("CREDITS", [[99.9, 10], [99.9, 25]]), ("CREDITS", [[True, 10]]), ("CREDITS", [[99.9, "10"]]),
     ("INCIDENT_TARGETS", []), ("INCIDENT_TARGETS", {"P4": {"DETECT": 5}}),
     ("INCIDENT_TARGETS", {"P0": {"ACK": 5}}), ("INCIDENT_TARGETS", {"P0": {"DETECT": 0}}),
     ("INCIDENT_TARGETS", {"P0": {"DETECT": "5"}}), ("INCIDENT_TARGETS", {"P0": 5}),
     ("INCIDENT_TARGETS", {"P0": {"RESOLVE": 10**9}}),
     ("PROMETHEUS_URL", "prometheus:9090"), ("PROMETHEUS_URL", "ftp://prometheus"),
     ("PROMETHEUS_URL", "http://"), ("PROMETHEUS_URL", "http://[::1"), ("PROMETHEUS_URL", 9090),
     ("PROMETHEUS_TIMEOUT_SECONDS", 0), ("PROMETHEUS_TIMEOUT_SECONDS", 600),
     ("PROMETHEUS_TIMEOUT_SECONDS", "5")],
)  # fmt: skip
def test_a_wrong_value_is_refused_naming_the_key(settings: Any, key: str, value: Any) -> None:
    with pytest.raises(ConfigurationError) as raised:
        sla(settings, **{key: value})
    assert f"['SLA']['{key}']" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_incident_targets_left_out_keep_their_defaults(settings: Any) -> None:
    targets = sla(settings, INCIDENT_TARGETS={"P3": {"RESPOND": 480}})["INCIDENT_TARGETS"]
    defaults = DEFAULTS["SLA"]["INCIDENT_TARGETS"]
    assert targets["P3"] == {**defaults["P3"], "RESPOND": 480}
    assert {s: targets[s] for s in ("P0", "P1", "P2")} == {
        s: defaults[s] for s in ("P0", "P1", "P2")
    }


def test_good_values_are_kept(settings: Any) -> None:
    section = sla(settings, CREDITS=[[99.5, 5]], PROMETHEUS_URL="https://prom.internal:9090/",
                  PROMETHEUS_TIMEOUT_SECONDS=2.5)  # fmt: skip
    assert section["CREDITS"] == [[99.5, 5]]
    assert section["PROMETHEUS_URL"] == "https://prom.internal:9090/"
    assert section["PROMETHEUS_TIMEOUT_SECONDS"] == 2.5
