"""manage.py incident: what the on-call engineer types during an outage, and what they see."""

from __future__ import annotations

import getpass
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops.incidents import service
from nzila_ops.models import Incident, IncidentEvent
from tests.support.host import REPO, example_env, manage

pytestmark = pytest.mark.postgres


def incident(*args: str) -> str:
    out = StringIO()
    call_command("incident", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args: str) -> CommandError:
    with pytest.raises(CommandError) as raised:
        incident(*args)
    return raised.value


def open_one(component: str = "database", severity: str = "P0", **extra: Any) -> Incident:
    found, _ = service.open_incident(
        key=component, component=component, severity=severity, source="health",
        title=f"{component} is DOWN", **extra,
    )  # fmt: skip
    return found


def test_list_shows_the_open_incidents_newest_first_and_not_the_resolved(
    transactional_db: Any,
) -> None:
    database = open_one("database", "P0")
    redis = open_one("redis", "P1")
    old = open_one("websocket", "P2")
    service.resolve(old, by="ada")
    lines = incident("list").splitlines()
    assert [line.split()[0] for line in lines] == [f"#{redis.pk}", f"#{database.pk}"]
    assert lines[1].startswith(f"#{database.pk} P0 triggered: database is DOWN (component database")
    # With no action at all: the same list.
    assert incident().splitlines() == lines
    assert f"#{old.pk} P2 resolved by ada: websocket is DOWN" in incident("list", "--all")


def test_list_filters_by_status_severity_and_component(transactional_db: Any) -> None:
    database = open_one("database", "P0")
    redis = open_one("redis", "P1")
    service.acknowledge(redis, by="grace")
    assert incident("list", "--severity", "p0").split()[0] == f"#{database.pk}"
    assert incident("list", "--component", "redis").startswith(
        f"#{redis.pk} P1 acknowledged by grace: "
    )
    assert incident("list", "--status", "acknowledged").count("\n") == 1
    assert incident("list", "--status", "resolved") == "no incidents\n"
    assert incident("list", "--component", "payments_api") == "no open incidents\n"


def test_list_as_json_carries_the_times_the_sla_needs(transactional_db: Any) -> None:
    database = open_one("database", "P0")
    service.acknowledge(database, by="grace")
    [row] = json.loads(incident("list", "--json"))
    assert row["id"] == database.pk and row["status"] == "acknowledged"
    assert row["acknowledged_by"] == "grace" and row["is_drill"] is False
    assert row["seconds_to_acknowledge"] is not None and row["resolved_at"] is None


def test_open_opens_a_manual_incident_once_per_component(transactional_db: Any) -> None:
    out = incident("open", "--component", "payments_api", "--severity", "P0",
                   "--title", "card payments failing", "--detail", "502 from the PSP",
                   "--by", "ada")  # fmt: skip
    opened = Incident.objects.get()
    assert out.splitlines()[0] == f"opened #{opened.pk}"
    assert (opened.source, opened.severity, opened.component) == ("manual", "P0", "payments_api")
    first = opened.events.get(kind="opened")
    assert (first.actor, first.detail) == ("ada", "502 from the PSP")
    again = json.loads(incident("open", "--component", "payments_api", "--title", "still",
                                "--json"))  # fmt: skip
    assert again["changed"] is False and again["incident"]["id"] == opened.pk
    assert Incident.objects.count() == 1
    assert opened.events.filter(kind="repeated").count() == 1


def test_open_without_a_severity_takes_the_components_configured_one(
    transactional_db: Any,
) -> None:
    incident("open", "--component", "websocket", "--title", "sockets drop")
    assert Incident.objects.get().severity == "P2"


def test_ack_and_resolve_once_by_the_os_user_then_say_nothing_changed(
    transactional_db: Any,
) -> None:
    database = open_one()
    assert incident("ack", str(database.pk)).splitlines()[0] == f"acknowledged #{database.pk}"
    database.refresh_from_db()
    assert database.acknowledged_by == getpass.getuser()
    again = incident("ack", f"#{database.pk}", "--by", "bob")
    assert again.splitlines()[0] == f"#{database.pk} is acknowledged: nothing changed"
    result = json.loads(incident("resolve", str(database.pk), "--by", "carol",
                                 "--detail", "failed over to the replica", "--json"))  # fmt: skip
    assert result["changed"] is True and result["incident"]["resolved_by"] == "carol"
    assert database.events.get(kind="resolved").detail == "failed over to the replica"
    assert json.loads(incident("resolve", str(database.pk), "--json"))["changed"] is False
    assert list(database.events.exclude(kind="paged").values_list("kind", flat=True)) == [
        "opened", "acknowledged", "resolved",
    ]  # fmt: skip


def test_note_appends_to_the_timeline(transactional_db: Any) -> None:
    database = open_one()
    out = incident("note", str(database.pk), "restarted", "pgbouncer", "--by", "ada")
    assert out.splitlines()[0] == f"note added to #{database.pk}"
    note = IncidentEvent.objects.get(incident=database, kind="note")
    assert (note.actor, note.detail) == ("ada", "restarted pgbouncer")


def test_an_unknown_incident_is_one_line_and_exit_2(transactional_db: Any) -> None:
    for action in ("ack", "resolve", "note"):
        extra = ["text"] if action == "note" else []
        error = refused(action, "424242", *extra)
        assert (str(error), error.returncode) == ("no incident #424242", 2)
    error = refused("ack", "twelve")
    assert (
        error.returncode == 2 and str(error) == "incident id must be a number like 12, not 'twelve'"
    )


def test_a_bad_severity_or_empty_text_is_refused_and_opens_nothing(transactional_db: Any) -> None:
    error = refused("open", "--component", "database", "--severity", "P9", "--title", "x")
    assert (str(error), error.returncode) == ("severity 'P9' is not one of P0, P1, P2, P3", 2)
    assert refused("open", "--component", "database", "--title", "  ").returncode == 2
    assert refused("list", "--severity", "high").returncode == 2
    assert refused("list", "--status", "open").returncode == 2
    assert refused("open", "--component", "db\x00", "--title", "x").returncode == 2
    assert not Incident.objects.exists()
    database = open_one()
    assert refused("note", str(database.pk), " ").returncode == 2
    assert not database.events.filter(kind="note").exists()


def test_from_a_shell_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    env = example_env(
        PYTHONPATH=f"{REPO}:{REPO / 'example_project'}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'host.sqlite3'}",
        NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path}",
    )
    result = manage(env, "incident", "open", "--component", "database", "--severity", "urgent",
                    "--title", "down")  # fmt: skip
    assert result.returncode == 2, result.stderr
    # (System check warnings of the bare example host come first.)
    assert result.stderr.splitlines()[-1] == (
        "CommandError: severity 'urgent' is not one of P0, P1, P2, P3"
    )
    assert "Traceback" not in result.stderr


# The text an operator (or a script) may put in any argument.
hostile = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "",
            " ",
            "-",
            "--json",
            "#",
            "#-1",
            "0",
            "99999999999999999999",
            "1e3",
            "\x00",
            "\udc80",
            "P",
            "p4",
            "\u202eP1",
            "9" * 400,
        ]
    ),
)
TEMPLATES = [
    ["ack", "{}"],
    ["resolve", "{}", "--detail", "{}"],
    ["note", "{}", "{}"],
    ["note", "1", "{}"],
    ["open", "--component", "{}", "--title", "{}"],
    ["open", "--component", "redis", "--severity", "{}", "--title", "t"],
    ["open", "--component", "redis", "--title", "t", "--by", "{}"],
    ["list", "--severity", "{}"],
    ["list", "--status", "{}"],
    ["list", "--component", "{}", "--limit", "{}"],
    ["{}"],
]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(template=st.sampled_from(TEMPLATES), value=hostile)
def test_any_argument_is_refused_in_one_line_or_done_never_a_crash(
    db: Any, template: list[str], value: str
) -> None:
    args = [value if part == "{}" else part for part in template]
    try:
        incident(*args)
    except CommandError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        # 2: a value refused by nzila_ops; 1: argparse refused the shape (call_command's
        # CommandError; from a shell that is argparse's own exit 2).
        assert exc.returncode in (1, 2), (exc.returncode, message)
    except SystemExit as exc:  # argparse on a value that looks like an option (--help)
        assert exc.code == 0 and value.startswith("-")
