"""check_health: the same results for a shell, exit code 0 when nothing fails, 1 otherwise."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_all_ok_exits_zero_with_one_line_per_check(three_checks: Any) -> None:
    out = StringIO()
    call_command("check_health", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["database", "cache", "redis"]
    assert all(line.split()[1] == "ok" for line in lines)


def test_a_failing_check_exits_one_and_json_has_reasons(three_checks: Any) -> None:
    three_checks.close()
    out = StringIO()
    with pytest.raises(CommandError, match="failing: redis") as caught:
        call_command("check_health", "redis", "--json", stdout=out)
    assert caught.value.returncode == 1
    report = json.loads(out.getvalue())
    assert report["status"] == "failing" and list(report["checks"]) == ["redis"]
    assert report["checks"]["redis"]["reason"]


def test_an_unknown_name_is_one_clear_error(three_checks: Any) -> None:
    with pytest.raises(CommandError, match="unknown check\\(s\\) nope") as caught:
        call_command("check_health", "nope")
    assert caught.value.returncode == 2
