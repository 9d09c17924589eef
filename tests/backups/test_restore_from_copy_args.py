"""``--storage NAME`` as typed by an operator, DRILL_STORAGES and the drill's weekly turn, and
verify_backup on a storage that asks for object lock its bucket does not have."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nzila_ops import tasks
from nzila_ops.backups.copies import copy_backup
from nzila_ops.backups.drills import storage_for_week
from nzila_ops.backups.manifest import iter_manifests
from nzila_ops.backups.storages import get_storage
from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.models import DrillRecord, RestoreRecord

pytestmark = pytest.mark.postgres

#: Each command with --storage, in a form that must change nothing whatever the name.
COMMANDS = [
    ("restore_database", ["--latest", "--no-input"]),
    ("list_backups", []),
    ("verify_backup", ["--latest"]),
    ("run_dr_drill", []),
]


def copy_to_secondary(settings: Any) -> None:
    """The newest backup copied to ``secondary`` by the copy service (verified, manifest last);
    ``secondary`` becomes a copy target only now, so that backups before are not copied."""
    settings.NZILA_OPS = {**settings.NZILA_OPS, "COPY_STORAGES": ["secondary"]}
    name = next(iter_manifests(get_storage("default")))["name"]
    assert copy_backup(name, "secondary").result == "copied"


def refused(command: str, arguments: list[str], name: str) -> CommandError:
    # "--storage=<name>": a name that starts with "-" is still the option's value.
    with pytest.raises(CommandError) as caught:
        call_command(command, *arguments, f"--storage={name}", stdout=StringIO())
    return caught.value


@pytest.mark.parametrize(("command", "arguments"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_an_unknown_storage_is_one_line_exit_2_and_changes_nothing(
    two_storages: Any, transactional_db: Any, command: str, arguments: list[str]
) -> None:
    error = refused(command, arguments, "secondry")
    assert error.returncode == 2
    assert str(error) == (
        "--storage 'secondry' is not a storage in NZILA_OPS['STORAGES'] "
        "(configured: default, secondary)"
    )
    assert not RestoreRecord.objects.exists() and not DrillRecord.objects.exists()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.one_of(
        st.text(max_size=60),
        st.text(min_size=1, max_size=10).map(lambda t: t * 400),
        st.sampled_from(["", "default\x00", "default\n", "../default", "--json", "\udc80", " "]),
    )
)
@pytest.mark.parametrize(("command", "arguments"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_any_storage_name_typed_is_refused_in_one_line_never_a_traceback(
    two_storages: Any, transactional_db: Any, command: str, arguments: list[str], name: str
) -> None:
    assume(name not in ("default", "secondary"))
    error = refused(command, arguments, name)
    message = str(error)
    assert error.returncode == 2, message
    assert message.startswith("--storage ") and "\n" not in message and len(message) < 300
    assert not RestoreRecord.objects.exists() and not DrillRecord.objects.exists()


def test_drill_storages_must_name_configured_storages(two_storages: Any) -> None:
    two_storages.NZILA_OPS = {**two_storages.NZILA_OPS, "DRILL_STORAGES": ["default", "backup2"]}
    with pytest.raises(ConfigurationError, match=r"DRILL_STORAGES'\] names \['backup2'\]"):
        get_config()
    two_storages.NZILA_OPS = {**two_storages.NZILA_OPS, "DRILL_STORAGES": "default, secondary"}
    assert get_config()["DRILL_STORAGES"] == ["default", "secondary"]
    two_storages.NZILA_OPS = {**two_storages.NZILA_OPS, "DRILL_STORAGES": {"default": 1}}
    with pytest.raises(ConfigurationError, match="must be a list of storage names"):
        get_config()


storage_lists = st.lists(st.sampled_from("abcdef"), min_size=1, max_size=6, unique=True)


@given(day=st.dates(), storages=storage_lists)
def test_the_weekly_turn_holds_for_a_week_then_moves_on(day: date, storages: list[str]) -> None:
    assume(day.toordinal() > 7 and day.toordinal() < date.max.toordinal() - 7 * len(storages))
    monday = day - timedelta(days=day.weekday())
    week = {storage_for_week(monday + timedelta(days=n), storages) for n in range(7)}
    assert week == {storage_for_week(day, storages)}
    turns = [storage_for_week(monday + timedelta(weeks=n), storages) for n in range(len(storages))]
    assert sorted(turns) == sorted(storages)  # each storage once in len(storages) weeks
    assert storage_for_week(day, []) is None


def test_the_turn_moves_on_across_a_year_with_53_iso_weeks() -> None:
    # 2026 has an ISO week 53; the next Monday is ISO week 1 of 2027: both odd.
    assert date(2026, 12, 28).isocalendar().week == 53
    assert storage_for_week(date(2026, 12, 28), ["a", "b"]) != storage_for_week(
        date(2027, 1, 4), ["a", "b"]
    )


def test_the_scheduled_drill_alternates_over_drill_storages(
    two_storages: Any, seeded_postgres: dict
) -> None:
    call_command("backup_database", stdout=StringIO())
    copy_to_secondary(two_storages)
    two_storages.NZILA_OPS = {
        **two_storages.NZILA_OPS,
        "DRILL_STORAGES": ["default", "secondary"],
    }

    ran = []
    for sunday in (datetime(2027, 3, 7, 4), datetime(2027, 3, 14, 4), datetime(2027, 3, 21, 4)):
        with time_machine.travel(sunday, tick=True):
            outcome = tasks.run_dr_drill_task("default")
        assert outcome["result"] == "passed", outcome
        ran.append(outcome["storage"])

    expected = [storage_for_week(d, ["default", "secondary"]) for d in (date(2027, 3, 7),)]
    assert ran[0] == expected[0]
    assert ran[0] != ran[1] and ran[2] == ran[0] and set(ran) == {"default", "secondary"}
    recorded = list(
        DrillRecord.objects.order_by("started_at").values_list("verification", flat=True)
    )
    assert [v["storage"] for v in recorded] == ran


@pytest.mark.s3
def test_verify_reports_a_storage_asking_for_object_lock_its_bucket_lacks(
    ops_settings: Any, seeded_postgres: dict, s3_bucket: str
) -> None:
    url = f"s3://{s3_bucket}/prod"
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "STORAGES": {"default": url}}
    call_command("backup_database", stdout=StringIO())
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {"default": url, "locked": f"{url}?object_lock=governance"},
    }
    call_command("verify_backup", "--latest", stdout=StringIO())  # asks for no lock: fine

    with pytest.raises(CommandError) as caught:
        call_command("verify_backup", "--latest", "--storage", "locked", stdout=StringIO())

    message = str(caught.value)
    assert caught.value.returncode == 1 and "\n" not in message
    assert " is intact, but " in message and "has no Object Lock configuration" in message


def test_a_failed_drill_of_a_copy_stays_open_until_a_drill_of_that_copy_passes(
    two_storages: Any, seeded_postgres: dict
) -> None:
    from nzila_ops.models import Incident

    call_command("backup_database", stdout=StringIO())
    with pytest.raises(CommandError, match="drill FAILED: no backups of database 'default'"):
        call_command("run_dr_drill", "--storage", "secondary", stdout=StringIO())  # no copy yet
    incident = Incident.objects.get()
    assert (incident.component, incident.source) == ("drill:default@secondary", "drill")
    assert "run_dr_drill --storage secondary" in incident.events.first().detail

    call_command("run_dr_drill", stdout=StringIO())  # the primary's drill passes: not the copy
    incident.refresh_from_db()
    assert incident.status == "triggered"

    copy_to_secondary(two_storages)
    call_command("run_dr_drill", "--storage", "secondary", stdout=StringIO())
    incident.refresh_from_db()
    assert incident.status == "resolved"
