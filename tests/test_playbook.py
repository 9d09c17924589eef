"""docs/INCIDENT_RESPONSE_PLAYBOOK.md is true: every command, flag, setting and default number
it names is the code's. An on-call engineer follows it during an outage, with no time to find
out that a flag was renamed or an escalation delay changed."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import get_commands, load_command_class

from nzila_ops.conf import DEFAULTS
from nzila_ops.events import Severity
from nzila_ops.integrations.pagerduty.client import service_for
from nzila_ops.models import Incident

PLAYBOOK = Path(__file__).resolve().parents[1] / "docs" / "INCIDENT_RESPONSE_PLAYBOOK.md"
# INCIDENT_SEVERITIES keys that stand for a kind of component ("backup" is every backup:<alias>).
KINDS = ("backup", "rpo", "restore", "drill")


def section(text: str, heading: str) -> str:
    """The text under the '## <heading>' line, up to the next '## ' heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"the playbook has no section {heading!r}"
    return match.group(1)


def table(text: str) -> list[list[str]]:
    """The body rows of the first Markdown table in ``text``, as stripped cells."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) > 2, "no table"
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines[2:]]


def first_code(cell: str) -> str:
    match = re.match(r"`([^`]+)`", cell)
    assert match, f"no `name` in {cell!r}"
    return match.group(1)


def command_lines(text: str) -> list[tuple[str, str]]:
    """Each ``manage.py <command> <arguments>`` named, up to a comment, backtick or line end."""
    return re.findall(r"manage\.py\s+([a-z_]+)([^`\n#]*)", text)


def options_of(command: str, arguments: str) -> set[str]:
    """The options of ``command``, or of its subcommand (``incident ack``) if it has them."""
    parser = load_command_class(get_commands()[command], command).create_parser(
        "manage.py", command
    )
    words = arguments.split()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and words:
            assert words[0] in action.choices, f"{command} has no subcommand {words[0]!r}"
            parser = action.choices[words[0]]
    return {option for action in parser._actions for option in action.option_strings}


def unknown_flags(text: str) -> list[str]:
    commands = get_commands()
    wrong = []
    for command, arguments in command_lines(text):
        if command not in commands:
            wrong.append(command)
            continue
        flags = re.findall(r"(?<!\S)(--?[a-z][a-z-]*)", arguments)
        wrong += [
            f"{command} {flag}" for flag in flags if flag not in options_of(command, arguments)
        ]
    return wrong


def unknown_settings(text: str) -> list[str]:
    sections = [name for name, value in DEFAULTS.items() if isinstance(value, dict)]
    known = set(DEFAULTS) | {key for name in sections for key in DEFAULTS[name]}
    named = set(re.findall(r"`([A-Z][A-Z0-9]*_[A-Z0-9_]+)`", text))
    named |= set(re.findall(r'NZILA_OPS\["([A-Z0-9_]+)"\]', text))
    return sorted(named - known)


def severity_rows(text: str) -> dict[str, tuple[str, str, str]]:
    rows = table(section(text, "Severity by component, as configured by default"))
    return {first_code(row[0]): (row[1], row[2], row[3]) for row in rows}


def escalation_rows(text: str) -> dict[str, dict[str, Any]]:
    rows = table(section(text, "Escalation policies, as `sync_pagerduty` makes them"))
    policies = {}
    for name, *levels, repeats in rows:
        parsed = []
        for level in filter(None, levels):
            match = re.fullmatch(r"([a-z]+), (\d+) min", level)
            assert match, f"level {level!r} of {name} is not '<schedule>, <n> min'"
            parsed.append({"SCHEDULES": [match.group(1)], "DELAY_MINUTES": int(match.group(2))})
        policies[name] = {"LEVELS": parsed, "REPEAT": int(repeats)}
    return policies


@pytest.fixture(scope="module")
def playbook() -> str:
    return PLAYBOOK.read_text()


def test_every_command_and_flag_in_the_playbook_exists(playbook: str) -> None:
    named = {command for command, _ in command_lines(playbook)}
    assert {"check_health", "restore_database", "list_backups", "pre_restore_databases",
            "incident"} <= named  # fmt: skip
    assert unknown_flags(playbook) == []


def test_a_flag_or_command_that_does_not_exist_is_caught() -> None:
    text = "`manage.py restore_database --latest --force` and `manage.py restart_everything`"
    assert unknown_flags(text) == ["restore_database --force", "restart_everything"]
    # A subcommand's own flags: --detail is resolve's, not ack's.
    assert unknown_flags("`manage.py incident resolve 3 --detail x`") == []
    assert unknown_flags("`manage.py incident ack 3 --detail x`") == ["incident --detail"]


def test_every_setting_in_the_playbook_exists(playbook: str) -> None:
    assert "INCIDENT_SEVERITIES" in playbook and "HEALTH_SAMPLE_CRON" in playbook
    assert unknown_settings(playbook) == []
    assert unknown_settings('`HEALTH_SAMPLES` and NZILA_OPS["PAGER"]') == [
        "HEALTH_SAMPLES",
        "PAGER",
    ]


def test_the_component_table_is_the_default_severities_and_their_pagerduty_route(
    playbook: str,
) -> None:
    rows = severity_rows(playbook)
    defaults = DEFAULTS["INCIDENT_SEVERITIES"]
    assert {name: row[0] for name, row in rows.items()} == defaults
    pagerduty = DEFAULTS["PAGERDUTY"]
    for name, (_, service, policy) in rows.items():
        if name == "warning":  # not a component: the degraded component's own route
            continue
        component = f"{name}:default" if name in KINDS else name
        assert service == service_for(component, pagerduty), name
        assert policy == pagerduty["SERVICES"][service], name


def test_a_changed_default_severity_would_fail_the_table_check(playbook: str) -> None:
    altered = playbook.replace("| `redis` | P1 |", "| `redis` | P2 |")
    assert altered != playbook
    assert {n: row[0] for n, row in severity_rows(altered).items()} != DEFAULTS[
        "INCIDENT_SEVERITIES"
    ]


def test_the_escalation_table_is_what_sync_pagerduty_makes(playbook: str) -> None:
    assert escalation_rows(playbook) == DEFAULTS["PAGERDUTY"]["ESCALATION_POLICIES"]
    altered = playbook.replace("| primary, 5 min |", "| primary, 15 min |")
    assert escalation_rows(altered) != DEFAULTS["PAGERDUTY"]["ESCALATION_POLICIES"]


def test_the_severity_definitions_map_to_pagerduty_as_the_code_does(playbook: str) -> None:
    rows = table(section(playbook, "Severities"))
    assert [row[0] for row in rows] == [s.value for s in Severity]
    for row in rows:
        severity = Severity(row[0])
        assert row[5] == severity.pagerduty
        # sync_pagerduty's severity-based urgency: critical and error page at high urgency.
        assert row[6] == ("high" if severity.pagerduty in ("critical", "error") else "low")
    assert rows[0][2:5] == ["5 min", "5 min", "1 h"]
    assert rows[1][2:5] == ["5 min", "30 min", "4 h"]
    assert rows[2][2:5] == ["10 min", "1 h", "8 h"]


def test_the_post_mortem_template_names_the_incidents_fields(playbook: str) -> None:
    template = section(playbook, "Post-mortem template")
    named = set(re.findall(r"^([a-z_]+):", template, re.M))
    named |= set(re.findall(r"<([a-z_]+)>", template))
    fields = {field.name for field in Incident._meta.get_fields()}
    assert {"summary", "root_cause", "follow_up_actions", "postmortem_url"} <= named
    assert sorted(named - fields - {"id"}) == []
