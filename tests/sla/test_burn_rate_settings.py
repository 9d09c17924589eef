"""NZILA_OPS['SLA']['BURN_RATE_RULES']: a wrong rule is one clear line, never a silent default."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from nzila_ops.conf import DEFAULTS, get_config
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.sla.burn_rate import BurnRule

PAGE = {"NAME": "page", "LONG_MINUTES": 60, "SHORT_MINUTES": 5, "FACTOR": 14.4, "SEVERITY": "P1"}


def configure(settings: Any, rules: Any, **sla: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"BURN_RATE_RULES": rules, **sla}}


def test_the_defaults_are_valid_and_rules_given_replace_them_whole(settings: Any) -> None:
    assert get_config()["SLA"]["BURN_RATE_RULES"] == DEFAULTS["SLA"]["BURN_RATE_RULES"]
    configure(settings, [PAGE])
    assert get_config()["SLA"]["BURN_RATE_RULES"] == [PAGE]
    configure(settings, [])
    assert get_config()["SLA"]["BURN_RATE_RULES"] == []


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"page": PAGE}, r"\['BURN_RATE_RULES'\] must be a list of rules"),
        ([{**PAGE, "WINDOW": 5}], r"\[0\] must be a dict with exactly the keys"),
        ([{k: v for k, v in PAGE.items() if k != "FACTOR"}], r"exactly the keys"),
        ([{**PAGE, "NAME": "Page Now!"}], r"\['NAME'\] must be a short lowercase name"),
        ([{**PAGE, "NAME": ""}], r"\['NAME'\] must be a short lowercase name"),
        ([{**PAGE, "FACTOR": "14.4"}], r"LONG_MINUTES, SHORT_MINUTES and FACTOR are numbers"),
        ([{**PAGE, "LONG_MINUTES": True}], r"are numbers"),
        ([{**PAGE, "SHORT_MINUTES": 60}], r"SHORT_MINUTES must be at least 1 and below LONG"),
        ([{**PAGE, "SHORT_MINUTES": 0}], r"SHORT_MINUTES must be at least 1"),
        ([{**PAGE, "LONG_MINUTES": 10**9}], r"at most 527040 \(a year\)"),
        ([{**PAGE, "FACTOR": 0}], r"\['FACTOR'\] is 0: it must be above 0"),
        ([{**PAGE, "FACTOR": float("inf")}], r"\['FACTOR'\] is inf: it must be above 0"),
        ([{**PAGE, "FACTOR": float("nan")}], r"\['FACTOR'\] is nan: it must be above 0"),
        ([{**PAGE, "LONG_MINUTES": float("nan")}], r"SHORT_MINUTES must be at least 1"),
        # 99.9 %: all the time down is 1000x; 1001x could never fire.
        ([{**PAGE, "FACTOR": 1001}], r"at most 100 / \(100 - TARGET_PERCENT\)"),
        ([{**PAGE, "SEVERITY": "high"}], r"\['SEVERITY'\] must be P0, P1, P2 or P3"),
        ([PAGE, {**PAGE, "SEVERITY": "P2"}], r"the rules named 'page' have different severities"),
    ],
)
def test_a_wrong_rule_is_refused_in_one_line(settings: Any, rules: Any, message: str) -> None:
    configure(settings, rules)
    with pytest.raises(ConfigurationError, match=message) as caught:
        get_config()
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("NZILA_OPS['SLA']['BURN_RATE_RULES']")


def test_the_highest_factor_depends_on_the_target(settings: Any) -> None:
    # At 99 % all the time down is 100x: a factor of 100 can fire, 100.1 cannot.
    configure(settings, [{**PAGE, "FACTOR": 100}], TARGET_PERCENT=99)
    assert get_config()["SLA"]["BURN_RATE_RULES"][0]["FACTOR"] == 100
    configure(settings, [{**PAGE, "FACTOR": 100.1}], TARGET_PERCENT=99)
    with pytest.raises(ConfigurationError, match="could never fire"):
        get_config()


def test_the_rules_table_in_the_docs_is_the_default_rules() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "SLA_TARGETS.md").read_text()
    section = doc.split("## Burn-rate alerts", 1)[1]
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith(("| page ", "| ticket "))
    ]
    minutes = {"5 min": 5, "30 min": 30, "1 h": 60, "6 h": 360, "3 d": 4320}
    documented = [
        {"NAME": name, "LONG_MINUTES": minutes[long], "SHORT_MINUTES": minutes[short],
         "FACTOR": float(factor), "SEVERITY": severity}
        for name, long, short, factor, _spent, severity in rows
    ]  # fmt: skip
    assert documented == DEFAULTS["SLA"]["BURN_RATE_RULES"]
    # The budget spent in the long window at the factor, of a 30-day month: 2 %, 5 %, 10 %.
    for (*_, spent, _severity), rule in zip(rows, documented, strict=True):
        share = rule["FACTOR"] * rule["LONG_MINUTES"] / (30 * 24 * 60)
        assert spent == f"{share * 100:g} %"


values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
    st.sampled_from(["page", "P1", "P3", 60, 5, 14.4, float("inf"), float("nan"), 0, -1]),
    st.lists(st.integers(), max_size=2),
)  # fmt: skip
rules = st.one_of(
    # Mostly a good rule with some values replaced, so that every check is reached.
    st.fixed_dictionaries({key: st.just(value) | values for key, value in PAGE.items()}),
    st.dictionaries(st.text(max_size=12), values, max_size=6),
    values,
)


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rules, max_size=3) | values)
def test_any_rules_are_accepted_or_refused_in_one_line_never_a_crash(
    settings: Any, given_rules: Any
) -> None:
    configure(settings, given_rules)
    try:
        config = get_config()
    except ConfigurationError as exc:
        assert "\n" not in str(exc) and "BURN_RATE_RULES" in str(exc)
        return
    # Accepted: every rule can be turned into windows and a factor.
    for rule in config["SLA"]["BURN_RATE_RULES"]:
        burn = BurnRule.from_setting(rule)
        assert timedelta(minutes=1) <= burn.short_window < burn.long_window
        assert burn.factor > 0
