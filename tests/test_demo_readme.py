"""The README opens on the newcomer's path: what it is, the two commands, the overview, then
configuration; and what it says about the demo is what the demo does."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_the_readme_opens_on_what_it_is_the_two_commands_the_overview_then_config() -> None:
    sections = re.split(r"^## ", README, flags=re.MULTILINE)
    title, commands, configuration = sections[0], sections[1], sections[2]
    what_it_is = [line for line in title.splitlines()[1:] if line.strip()]
    assert len(what_it_is) <= 3, what_it_is
    assert commands.startswith("Two commands\n")
    assert re.search(r"^make demo ", commands, flags=re.MULTILINE)
    assert re.search(r"^make test ", commands, flags=re.MULTILINE)
    (image,) = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", commands)
    assert image == "docs/img/overview.png"
    assert (REPO / image).is_file()
    assert configuration.startswith("Configuration\n")


def test_what_the_readme_says_of_the_demo_is_in_the_makefile_and_the_serving_script() -> None:
    makefile = (REPO / "Makefile").read_text()
    script = (REPO / "scripts" / "demo_serve").read_text()
    assert "collectstatic --no-input" in makefile
    assert "scripts/demo_serve" in makefile
    assert "http://127.0.0.1:8000/admin/" in README
    assert "example_project/var/demo-login.txt" in README
    assert '"demo-login.txt"' in script
    assert "--password-file" in script
