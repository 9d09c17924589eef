"""Which system checks every nzila_ops command runs before it starts: the configuration ones
(every nzila_ops check), not the project's development checks (models, URLs, admin), whose
errors must not stop a backup, a restore or a health check during an incident
(nzila_ops.management.base)."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core import checks
from django.core.checks.registry import registry
from django.core.management import CommandError, call_command

BROKEN_URLS = "the project's URLconf is broken"


def broken_urlconf(**kwargs: Any) -> list[checks.CheckMessage]:
    return [checks.Error(BROKEN_URLS, id="host.E001")]


@pytest.fixture
def broken_url_check() -> Iterator[None]:
    checks.register(broken_urlconf, checks.Tags.urls)
    yield
    registry.registered_checks.discard(broken_urlconf)


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, skip_checks=False, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_url_check_error_does_not_stop_a_backup(
    broken_url_check: None, ops_settings: Any
) -> None:
    # The same error stops a command that runs every check: the check is really there.
    with pytest.raises(CommandError, match=BROKEN_URLS):
        call_command("check", stdout=StringIO(), stderr=StringIO())
    assert " stored (raw " in run("backup_database")


@pytest.mark.django_db(transaction=True)
def test_a_url_check_error_stops_no_other_nzila_ops_command(
    broken_url_check: None, ops_settings: Any
) -> None:
    run("backup_database")
    assert "default-" in run("list_backups")
    assert "OK " in run("verify_backup", "--latest")


@pytest.mark.django_db
def test_a_url_check_error_does_not_stop_a_restore(
    broken_url_check: None, ops_settings: Any
) -> None:
    with pytest.raises(CommandError) as raised:
        run("restore_database", "--backup", "no-such-backup", "--no-input")
    # Past the checks: it fails on the backup it was asked for, not on the URL check.
    assert BROKEN_URLS not in str(raised.value)
    assert "no-such-backup" in str(raised.value)
