"""Notifications an operator receives, and the RPO watch that sends some of them."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from nzila_ops.backups.rpo import watch_rpo
from nzila_ops.backups.service import run_backup
from nzila_ops.models import RpoState
from nzila_ops.tasks import backup_digest_task
from tests.support.s3 import free_port

pytestmark = pytest.mark.postgres


def subjects() -> list[str]:
    """Subjects, with the incident's number (which the database chooses) left out."""
    return [re.sub(r"incident #\d+", "incident #N", m.subject) for m in mail.outbox]


def test_a_failed_backup_emails_what_where_why_and_what_next(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "PG_DUMP": "/nowhere/pg_dump"}
    with pytest.raises(CommandError):
        call_command("backup_database", stdout=StringIO())
    assert subjects() == ["[nzila_ops] P1 incident #N opened: Backup of 'default' FAILED"]
    body = mail.outbox[0].body
    assert "Component: backup:default" in body and "Severity: P1 (high)" in body
    assert "Error: /nowhere/pg_dump not found" in body
    assert "Next step: run `python manage.py backup_database --database default`" in body
    assert mail.outbox[0].to == ["ops@example.com"]


def test_success_emails_each_backup_by_default_and_none_when_off(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    record = run_backup("default")
    assert subjects() == ["[nzila_ops] Backup of 'default' succeeded"]
    assert record.sha256 in mail.outbox[0].body and "Encrypted: yes (age)" in mail.outbox[0].body
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "NOTIFY_ON_SUCCESS": "off",
        "NOTIFY_EMAILS": ["dba@example.com"],
    }
    run_backup("default")
    assert len(mail.outbox) == 1


def test_the_daily_digest_lists_the_last_24_hours(ops_settings: Any, seeded_postgres: dict) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "NOTIFY_ON_SUCCESS": "digest"}
    first = run_backup("default")
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "PG_DUMP": "/nowhere/pg_dump"}
    with pytest.raises(Exception, match="not found"):
        run_backup("default")
    # Failures: always, at once (an incident).
    assert subjects() == ["[nzila_ops] P1 incident #N opened: Backup of 'default' FAILED"]
    result = backup_digest_task.apply().get()
    assert result == {"sent": True, "backups": 2, "failed": 1}
    digest = mail.outbox[-1]
    assert digest.subject == "[nzila_ops] Backups of the last 24 h: 1 ok, 1 failed"
    assert f"{first.name}: succeeded" in digest.body


def test_a_notifier_that_cannot_send_never_fails_the_backup(
    ops_settings: Any, seeded_postgres: dict, settings: Any, caplog: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    record = run_backup("default")
    assert record.status == "succeeded"
    assert "could not send" in caplog.text


def test_a_failed_drill_is_emailed(ops_settings: Any, seeded_postgres: dict) -> None:
    run_backup("default")
    mail.outbox.clear()
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "RTO_TARGET_SECONDS": 0.001}
    with pytest.raises(CommandError):
        call_command("run_dr_drill", stdout=StringIO())
    assert subjects() == ["[nzila_ops] P2 incident #N opened: DR drill of 'default' FAILED"]
    assert "exceeds the target" in mail.outbox[0].body


def test_rpo_watch_alerts_once_on_breach_and_once_on_recovery(
    ops_settings: Any, seeded_postgres: dict
) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "NOTIFY_ON_SUCCESS": "off"}
    [check] = watch_rpo()  # no backup at all: breached
    assert check.breached and check.changed
    assert subjects() == ["[nzila_ops] P1 incident #N opened: RPO BREACHED for 'default'"]
    assert "has no successful backup" in mail.outbox[0].body
    watch_rpo()
    assert len(mail.outbox) == 1  # still breached: quiet

    run_backup("default")
    [check] = watch_rpo()
    assert not check.breached and check.changed
    assert subjects()[-1] == (
        "[nzila_ops] P1 incident #N resolved by nzila_ops: RPO BREACHED for 'default'"
    )
    watch_rpo()
    assert len(mail.outbox) == 2

    # 15 min target + 5 min grace: at 19 minutes still fine, at 21 breached again.
    with time_machine.travel(timezone.now() + timedelta(minutes=19)):
        assert not watch_rpo()[0].breached
    with time_machine.travel(timezone.now() + timedelta(minutes=21)):
        [check] = watch_rpo()
    assert check.breached and "min old: older than the RPO limit of 20 min" in check.describe()
    assert subjects()[-1] == "[nzila_ops] P1 incident #N opened: RPO BREACHED for 'default'"
    assert RpoState.objects.get().breached
