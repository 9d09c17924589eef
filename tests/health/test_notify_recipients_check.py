"""System check nzila_ops.W002: failure e-mails that would go to nobody are found at deploy
time (``manage.py check --deploy``), not when the first failure goes unreported."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks

from nzila_ops.notify.email import EmailNotifier
from tests.support.host import example_env, manage

EMAIL = "nzila_ops.notify.email.EmailNotifier"
INCIDENT_EMAIL = "nzila_ops.notify.email.EmailIncidentNotifier"


class TicketEmailNotifier(EmailNotifier):
    """A host's own flavour of the e-mail notifier: it sends to the same recipients."""


class PagerNotifier:
    def send(self, notification: Any) -> None:
        pass


def w002(settings: Any, admins: list, **ops: Any) -> list:
    settings.ADMINS = admins
    settings.NZILA_OPS = {"STORAGES": {"default": "file:///tmp/nzila-health-tests"}, **ops}
    return [m for m in run_checks(include_deployment_checks=True) if m.id == "nzila_ops.W002"]


def test_email_notifications_to_nobody_are_a_deploy_warning(settings: Any) -> None:
    [warning] = w002(settings, [])
    assert warning.msg == (
        "failure e-mails would go to nobody: the e-mail notifier is configured but "
        "NZILA_OPS['NOTIFY_EMAILS'] and ADMINS are empty"
    )
    assert "NOTIFY_EMAILS" in warning.hint and "ADMINS" in warning.hint
    # A host's subclass of the e-mail notifier has the same recipients.
    subclass = [f"{__name__}.TicketEmailNotifier"]
    assert len(w002(settings, [], NOTIFIERS=subclass, INCIDENT_NOTIFIERS=[])) == 1
    # Incident e-mails alone (the failures) are enough to warn.
    assert len(w002(settings, [], NOTIFIERS=[], INCIDENT_NOTIFIERS=[INCIDENT_EMAIL])) == 1
    # Not in everyday commands: the check is a deployment one.
    assert "nzila_ops.W002" not in {m.id for m in run_checks()}


@pytest.mark.parametrize(
    ("admins", "ops"),
    [
        ([("Ops", "ops@example.com")], {}),
        ([], {"NOTIFY_EMAILS": ["oncall@example.com"]}),
        # No e-mail notifier at all.
        ([], {"NOTIFIERS": [f"{__name__}.PagerNotifier"], "INCIDENT_NOTIFIERS": []}),
        ([], {"NOTIFIERS": [], "INCIDENT_NOTIFIERS": []}),
    ],
)
def test_no_warning_when_someone_gets_the_emails_or_none_are_sent(
    settings: Any, admins: list, ops: dict
) -> None:
    assert w002(settings, admins, **ops) == []


def test_an_operator_sees_it_in_check_deploy(tmp_path: Any) -> None:
    env = example_env(NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path}", NZILA_OPS_NOTIFY_EMAILS="")
    result = manage(env, "check", "--deploy")
    assert "(nzila_ops.W002) failure e-mails would go to nobody" in result.stderr + result.stdout
    env["NZILA_OPS_NOTIFY_EMAILS"] = "ops@example.com"
    result = manage(env, "check", "--deploy")
    assert "nzila_ops.W002" not in result.stderr + result.stdout
