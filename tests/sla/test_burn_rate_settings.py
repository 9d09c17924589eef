"""NZILA_OPS['SLA']['BURN_RATE_RULES']: a wrong rule is one clear line, never a silent default."""

from __future__ import annotations

from typing import Any

import pytest

from nzila_ops.conf import DEFAULTS, get_config
from nzila_ops.exceptions import ConfigurationError

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
