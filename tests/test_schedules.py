"""setup_schedules: idempotent, follows the settings, keeps the operator's enabled flag."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("setup_schedules", *args, stdout=out)
    return out.getvalue()


def entries() -> dict[str, tuple[str, str, str, bool]]:
    return {
        t.name: (t.task, t.args, str(t.crontab).split(" (")[0], t.enabled)
        for t in PeriodicTask.objects.select_related("crontab")
    }


def test_dry_run_shows_the_plan_and_writes_nothing(ops_settings: Any) -> None:
    output = run("--dry-run")
    assert PeriodicTask.objects.count() == 0
    for name in ("backup default", "retention", "DR drill default", "RPO watch"):
        assert f"nzila_ops: {name}" in output
    assert "would be created" in output and "backup digest" not in output


def test_installs_the_entries_from_the_settings(ops_settings: Any) -> None:
    run()
    installed = entries()
    assert installed["nzila_ops: backup default"][:2] == (
        "nzila_ops.backup_database",
        '["default", "hourly"]',
    )
    assert installed["nzila_ops: backup default"][2].startswith("*/10 * * * *")
    assert installed["nzila_ops: retention"][0] == "nzila_ops.enforce_retention"
    assert installed["nzila_ops: DR drill default"][2].startswith("0 4 * * 0")
    assert installed["nzila_ops: RPO watch"][2].startswith("*/5 * * * *")
    # Incident deliveries that failed for a while are retried every minute.
    assert installed["nzila_ops: incident deliveries"][:2] == ("nzila_ops.retry_deliveries", "[]")
    assert installed["nzila_ops: incident deliveries"][2].startswith("* * * * *")


def test_running_twice_changes_nothing_and_keeps_a_disabled_entry_disabled(
    ops_settings: Any,
) -> None:
    run()
    PeriodicTask.objects.filter(name="nzila_ops: DR drill default").update(enabled=False)
    before = entries()
    output = run()
    assert entries() == before
    assert output.count("unchanged") == 9 and "created" not in output

    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "BACKUP_CRON": "*/15 * * * *"}
    output = run()
    after = entries()
    assert "nzila_ops: backup default" in output and "updated" in output
    assert after["nzila_ops: backup default"][2].startswith("*/15 * * * *")
    assert after["nzila_ops: DR drill default"][3] is False  # the operator's choice stands


def test_entries_no_longer_called_for_are_removed(ops_settings: Any) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "NOTIFY_ON_SUCCESS": "digest"}
    run()
    assert "nzila_ops: backup digest" in entries()
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "NOTIFY_ON_SUCCESS": "each"}
    output = run()
    assert "nzila_ops: backup digest" in output and "removed" in output
    assert "nzila_ops: backup digest" not in entries()


def test_a_bad_crontab_is_one_clear_error(ops_settings: Any) -> None:
    from django.core.management import CommandError

    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "BACKUP_CRON": "hourly"}
    with pytest.raises(CommandError, match=r"BACKUP_CRON.*crontab with 5 fields"):
        run()


def test_an_entry_disabled_by_an_operator_is_shown_as_such(ops_settings: Any) -> None:
    run()
    PeriodicTask.objects.filter(name="nzila_ops: DR drill default").update(enabled=False)
    lines = {line.split("  ")[0].strip(): line for line in run("--dry-run").splitlines()}
    assert "unchanged (disabled by an operator)" in lines["nzila_ops: DR drill default"]
    assert "disabled" not in lines["nzila_ops: backup default"]

    # A change of crontab is applied, and the entry stays off: the output says both.
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "DRILL_CRON": "0 5 * * 0"}
    lines = {line.split("  ")[0].strip(): line for line in run().splitlines()}
    assert "updated (disabled by an operator)" in lines["nzila_ops: DR drill default"]
    assert PeriodicTask.objects.get(name="nzila_ops: DR drill default").enabled is False


def test_the_monthly_report_runs_on_the_1st_in_the_slas_time_zone(ops_settings: Any) -> None:
    """At 06:00 UTC on the 1st, October has not ended in Los Angeles: read in UTC, the entry
    would report September again (already sent) and October never."""
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "SLA": {"TIME_ZONE": "America/Los_Angeles"}}
    output = run()
    assert "'0 6 1 * *' (America/Los_Angeles)" in output
    task = PeriodicTask.objects.select_related("crontab").get(name="nzila_ops: monthly SLA report")
    assert str(task.crontab.timezone) == "America/Los_Angeles"
    # The other entries stay in UTC; and a change of the SLA's zone updates the entry.
    backup = PeriodicTask.objects.select_related("crontab").get(name="nzila_ops: backup default")
    assert str(backup.crontab.timezone) == "UTC"
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "SLA": {"TIME_ZONE": "Europe/London"}}
    assert "updated" in run()
    task.refresh_from_db()
    assert str(task.crontab.timezone) == "Europe/London"
