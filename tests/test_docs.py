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
        (REPO / "docs" / name).read_text() for name in ("backups.md", "scheduling.md", "health.md")
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
