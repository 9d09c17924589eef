"""manage.py sla_report: the report in text, JSON or CSV; a wrong period or format is one line
and exit 2, whatever is typed."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sla.helpers import history, utc
from tests.support.host import REPO, example_env, manage

pytestmark = pytest.mark.django_db


@pytest.fixture
def january(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"COMPONENTS": ["api", "database"]}}
    # api down 1 h on 10 January; database up throughout.
    history("api", (utc(2025, 12, 1), "ok"), (utc(2026, 1, 10), "failing"),
            (utc(2026, 1, 10, 1), "ok"))  # fmt: skip
    history("database", (utc(2025, 12, 1), "ok"))


def run(*args: str) -> str:
    out = StringIO()
    call_command("sla_report", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_text_report_shows_the_figures_of_the_month(january: None) -> None:
    text = run("--period", "2026-01")
    assert text.startswith(
        "SLA report 2026-01 (2026-01-01 00:00 UTC to 2026-02-01 00:00 UTC, 31 days)"
    )
    assert "Target 99.9 %: 44.64 min of downtime allowed in the period" in text
    overall = next(line for line in text.splitlines() if line.strip().startswith("overall"))
    # 1 h of 31 days: 99.8655 % (shown floored: 99.865 %), 60 of 44.64 minutes: 134.41 % of the
    # budget (shown rounded up: 134.5).
    assert overall.split() == ["overall", "99.865", "%", "down", "60.00", "min", "allowed",
                               "44.64", "min", "budget", "134.5", "%", "MISSED"]  # fmt: skip
    assert "2026-01: overall 99.865 %, credit 10 % (uptime below 99.9 %)" in text
    assert "api_p95: not measured (no PROMETHEUS_URL configured)" in text


def test_json_carries_the_same_figures(january: None) -> None:
    report = json.loads(run("--period", "2026-01", "--format", "json"))
    assert report["period"] == {
        "label": "2026-01", "start": "2026-01-01T00:00:00+00:00",
        "end": "2026-02-01T00:00:00+00:00", "seconds": 2678400.0,
    }  # fmt: skip
    assert report["allowed_downtime_seconds"] == 2678.4
    assert report["overall"]["down_seconds"] == 3600
    assert report["credit"] == {"below_percent": 99.9, "credit_percent": 10.0}
    assert [c["component"] for c in report["components"]] == ["api", "database"]


def test_csv_has_one_row_per_component_overall_first(january: None) -> None:
    rows = list(csv.DictReader(io.StringIO(run("--period", "2026-01", "--format", "csv"))))
    assert [(r["component"], r["down_seconds"], r["met"]) for r in rows] == [
        ("overall", "3600.000", "no"), ("api", "3600.000", "no"), ("database", "0.000", "yes"),
    ]  # fmt: skip
    assert rows[0]["allowed_downtime_seconds"] == "2678.400"


def test_without_a_period_it_reports_the_last_complete_month(january: None) -> None:
    with time_machine.travel(utc(2026, 2, 1, 6), tick=False):
        assert run().startswith("SLA report 2026-01 ")


def test_a_quarter_and_a_year_list_their_months(january: None) -> None:
    assert "Months (service credits are monthly)" in run("--period", "2026-Q1")
    year = json.loads(run("--period", "2025", "--format", "json"))
    assert len(year["months"]) == 12 and year["credit"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--period", "2026-13"], "period '2026-13': the month must be 01 to 12"),
     (["--period", "last month"], "period 'last month' is not a month (2026-10), quarter "
                                  "(2026-Q4) or year (2026) from 1970 to 9998"),
     (["--period", "2026-01", "--format", "pdf"], "--format 'pdf' is not one of text, json, csv")],
)  # fmt: skip
def test_a_wrong_argument_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    with pytest.raises(CommandError) as raised:
        run(*args)
    assert (raised.value.returncode, str(raised.value)) == (2, message)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=30), st.sampled_from(["text", "json", "csv", "xml", ""]))
def test_any_period_and_format_is_a_report_or_one_line_refusal(period: str, fmt: str) -> None:
    try:
        # "--period=VALUE": a value starting with "-" is then the value, not an option.
        out = run(f"--period={period}", f"--format={fmt}")
    except CommandError as exc:
        assert exc.returncode == 2
        assert "\n" not in str(exc) and "Traceback" not in str(exc)
    else:
        assert out


def test_from_a_shell_on_the_default_sqlite_host(tmp_path: Path) -> None:
    """The embedded default is SQLite: its window functions compute the same report."""
    env = example_env(
        PYTHONPATH=f"{REPO}:{REPO / 'example_project'}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'host.sqlite3'}",
        NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path / 'backups'}",
    )
    wrong = manage(env, "sla_report", "--period", "2026-1")
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines()[-1].startswith("CommandError: period '2026-1' is not")
    assert manage(env, "migrate", "--no-input").returncode == 0
    flips = (
        "from nzila_ops.models import ComponentFlip as F\n"
        "from datetime import datetime, UTC\n"
        "for at, new in [((2025, 12, 1), 'ok'), ((2026, 1, 10), 'failing'),"
        " ((2026, 1, 10, 1), 'ok')]:\n"
        "    F.objects.create(component='database', new=new, at=datetime(*at, tzinfo=UTC))\n"
        "from nzila_ops.models import BackupRecord as B\n"
        "for n, day in enumerate([(1, 1), (1, 3), (20, 0), (31, 23)]):\n"
        "    at = datetime(2026, 1, day[0], day[1], tzinfo=UTC)\n"
        "    B.objects.create(name=f'b{n}', database_alias='default', engine='sqlite',"
        " status='succeeded', started_at=at, finished_at=at)\n"
    )
    assert manage(env, "shell", "-c", flips).returncode == 0
    result = manage(env, "sla_report", "--period", "2026-01", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    database = next(c for c in report["components"] if c["component"] == "database")
    assert (database["down_seconds"], database["up_seconds"]) == (3600, 31 * 86400 - 3600)
    backups = report["data_protection"]["backups"][0]
    # 1 January 03:00 to 20 January 00:00 (LAG on SQLite), not the 1-hour edges.
    assert backups["largest_gap_seconds"] == (18 * 24 + 21) * 3600
