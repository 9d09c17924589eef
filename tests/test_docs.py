"""Every command and setting that the docs name exists."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management import get_commands

from nzila_ops.conf import DEFAULTS

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_every_manage_py_command_in_the_docs_exists() -> None:
    commands = get_commands()
    named = {
        name for doc in DOCS for name in re.findall(r"manage\.py\s+([a-z_]+)", doc.read_text())
    }
    assert named, "the docs name no commands"
    assert sorted(named - set(commands)) == []


def test_every_setting_in_the_settings_table_exists() -> None:
    text = "\n".join(
        (REPO / "docs" / name).read_text()
        for name in (
            "backups.md",
            "scheduling.md",
            "health.md",
            "incidents.md",
            "webhooks.md",
            "MONITORING_GUIDE.md",
            "SLA_TARGETS.md",
        )
    )
    named = set(re.findall(r"^\| `([A-Z_]+)`", text, flags=re.MULTILINE))
    named |= {
        name
        for row in re.findall(r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)+) \|", text, flags=re.MULTILINE)
        for name in re.findall(r"`([A-Z_]+)`", row)
    }
    assert "STORAGES" in named and "PG_RESTORE" in named
    assert sorted(named - set(DEFAULTS)) == []
    assert sorted(set(DEFAULTS) - named) == [], "a setting is missing from the docs"


def test_every_check_id_is_documented() -> None:
    source = (REPO / "nzila_ops" / "checks.py").read_text()
    ids = set(re.findall(r'id="(nzila_ops\.[EW]\d+)"', source))
    documented = set(
        re.findall(r"`(nzila_ops\.[EW]\d+)`", (REPO / "docs" / "checks.md").read_text())
    )
    assert ids and ids == documented


# Phrases that point at the project's own working notes, which a reader of the docs never sees.
INTERNAL_REFERENCE = re.compile(
    r"\broadmap\b|\bissue (?:notes|#?\d+)\b|\b(?:the|this) [a-z]+ issue\b|\(\w+ issue\)"
    r"|\b(?:this|next|previous|last|later|a later) session\b",
    flags=re.IGNORECASE,
)
# The example project's environment variables (README's table), as opposed to NZILA_OPS keys.
EXAMPLE_VARIABLE = re.compile(
    r"\b(?:NZILA_OPS_[A-Z_]+|NZILA_WEBSOCKET_URL|DATABASE_URL|DJANGO_[A-Z_]+)\b"
)


def test_the_docs_refer_to_nothing_outside_them() -> None:
    found = [
        f"{doc.name}: {match.group(0)!r}"
        for doc in DOCS
        for match in INTERNAL_REFERENCE.finditer(doc.read_text())
    ]
    assert found == []


def test_docs_describe_settings_and_name_the_example_projects_variables_only_as_such() -> None:
    # docs/ describe NZILA_OPS keys; an environment variable of the example project is one way
    # to fill them, named only in a section that says it is the example project's.
    unlabelled = []
    for doc in sorted((REPO / "docs").glob("*.md")):
        for section in re.split(r"^#+ ", doc.read_text(), flags=re.MULTILINE):
            for match in EXAMPLE_VARIABLE.finditer(section):
                if "example project" not in section[: match.start()]:
                    unlabelled.append(f"{doc.name}: {match.group(0)}")
    assert unlabelled == []


def test_each_setting_is_described_in_one_row_of_the_settings_tables() -> None:
    rows = [
        name
        for doc in ("backups.md", "scheduling.md", "health.md")
        for cell in re.findall(
            r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \|", (REPO / "docs" / doc).read_text(), re.MULTILINE
        )
        for name in re.findall(r"`([A-Z_]+)`", cell)
    ]
    assert sorted(name for name in set(rows) if rows.count(name) > 1) == []
