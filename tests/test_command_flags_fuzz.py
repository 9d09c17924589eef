"""Every name an operator types into a command (aliases, backup names, targets, check names) may
be refused, never crash: the answer is one CommandError line and an exit status, whatever the
text (unicode, quotes, NUL bytes, path tricks, thousands of characters)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.postgres

# (command, the arguments around the fuzzed value); "{}" is where the value goes. Every run is
# one that must change nothing: the storage is empty, and no alias or backup of these names exists.
INVOCATIONS = [
    ("backup_database", ["--database", "{}"]),
    ("backup_database", ["--type", "{}"]),
    ("restore_database", ["--backup", "{}", "--no-input"]),
    ("restore_database", ["--latest", "--database", "{}", "--no-input"]),
    ("restore_database", ["--latest", "--target", "{}", "--no-input"]),
    ("verify_backup", ["{}"]),
    ("verify_backup", ["--latest", "--database", "{}"]),
    ("run_dr_drill", ["--database", "{}"]),
    ("list_backups", ["--database", "{}"]),
    ("enforce_retention", ["--dry-run", "--database", "{}"]),
    ("pre_restore_databases", ["--drop", "{}"]),
    ("pre_restore_databases", ["--database", "{}"]),
    ("check_health", ["{}"]),
    ("restore_database", ["--latest", "--storage", "{}", "--no-input"]),
    ("verify_backup", ["--latest", "--storage", "{}"]),
    ("list_backups", ["--storage", "{}"]),
    ("run_dr_drill", ["--storage", "{}"]),
    ("copy_backups", ["--storage", "{}"]),
    ("copy_backups", ["--dry-run", "--database", "{}"]),
    ("sla_report", ["--period", "{}"]),
    ("sla_report", ["--format", "{}"]),
]

TRICKY = [
    "",
    " ",
    "..",
    "../../etc/passwd",
    "a/b",
    "default\x00",
    "'; DROP TABLE x; --",
    '"',
    "default/../default",
    "%2e%2e",
    "-",
    "--json",
    "\u202edefault",
    "default\n",
    "\udc80",
]
hostile_text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20).map(lambda t: t * 300),
    st.sampled_from(TRICKY),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=hostile_text)
@pytest.mark.parametrize(("command", "template"), INVOCATIONS, ids=lambda x: str(x))
def test_a_typed_name_is_refused_in_one_line_never_a_crash(
    ops_settings: Any, transactional_db: Any, command: str, template: list[str], value: str
) -> None:
    args = [value if part == "{}" else part for part in template]
    out, err = StringIO(), StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
    except CommandError as exc:
        message = str(exc)
        assert message and "Traceback" not in message
        assert exc.returncode in (1, 2, 3), (exc.returncode, message)
    except SystemExit as exc:  # argparse on a value that looks like an option it knows
        assert exc.code != 0 or value.startswith("-")
