"""docs/DISASTER_RECOVERY_PLAN.md is true: every command and flag it names exists, every
setting is one, every link into backups.md lands on a heading, and the region-outage and
ransomware scenarios are written around the commands that restore from a copy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_playbook import command_lines, section, unknown_flags, unknown_settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
PLAN = DOCS / "DISASTER_RECOVERY_PLAN.md"


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown text."""
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def broken_links(text: str) -> list[str]:
    wrong = []
    for target, anchor in re.findall(r"\]\(([\w.]+\.md)(?:#([^)]+))?\)", text):
        path = DOCS / target
        if not path.exists():
            wrong.append(target)
        elif anchor and anchor not in anchors(path.read_text()):
            wrong.append(f"{target}#{anchor}")
    return wrong


@pytest.fixture(scope="module")
def plan() -> str:
    return PLAN.read_text()


def test_every_command_flag_and_setting_in_the_plan_exists(plan: str) -> None:
    assert unknown_flags(plan) == []
    # NZILA_OPS itself, and the example project's NZILA_OPS_* variables, are not its keys.
    assert [name for name in unknown_settings(plan) if not name.startswith("NZILA_OPS")] == []


def test_every_link_of_the_plan_lands_on_a_heading(plan: str) -> None:
    assert broken_links(plan) == []
    assert broken_links("[x](backups.md#no-such-heading)") == ["backups.md#no-such-heading"]


def test_the_region_outage_restores_from_the_copy(plan: str) -> None:
    scenario = section(plan, "3. Region outage")
    named = {
        (command, " ".join(arguments.split())) for command, arguments in command_lines(scenario)
    }
    assert {
        ("list_backups", "--storage secondary"),
        ("verify_backup", "--storage secondary --latest"),
        ("restore_database", "--storage secondary --latest --no-input"),
    } <= named
    assert any(command == "copy_backups" for command, _ in named)
    for setting in ("COPY_STORAGES", "DRILL_STORAGES", "BACKUP_STORAGE"):
        assert setting in scenario


def test_the_ransomware_scenario_uses_the_locked_versions_and_the_copy(plan: str) -> None:
    scenario = section(plan, "4. Ransomware")
    commands = {command for command, _ in command_lines(scenario)}
    assert {"list_backups", "verify_backup", "restore_database"} <= commands
    assert "--storage secondary" in scenario
    assert "backups.md#immutable-backups-s3-object-lock" in scenario
    assert "backups.md#least-privilege-iam-policies" in scenario
