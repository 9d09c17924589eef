"""Misconfigured webhooks show up in `manage.py check`, not at the first alert they refuse."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from nzila_ops.checks import check_webhook_token, check_webhooks


def with_webhooks(settings: Any, **webhooks: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "WEBHOOKS": webhooks}


@pytest.mark.parametrize(
    ("webhooks", "message"),
    [
        ({"PAGERDUTY_SECRETS": 42}, "PAGERDUTY_SECRETS'] must be a list of secrets"),
        ({"PAGERDUTY_SECRETS": ["ok", 7]}, "PAGERDUTY_SECRETS'] must be a list of secrets"),
        ({"UPTIMEROBOT_TOKEN": 123456}, "UPTIMEROBOT_TOKEN'] must be a string or None"),
        ({"MAX_BODY_BYTES": "256k"}, "MAX_BODY_BYTES'] must be an integer of at least 1024"),
        ({"MAX_BODY_BYTES": 10}, "MAX_BODY_BYTES'] must be an integer of at least 1024"),
        ({"SENTRY_ISSUE_SEVERITY": "high"}, "SENTRY_ISSUE_SEVERITY'] must be one of"),
        ({"SENTRY_METRIC_SEVERITIES": {"critical": "P9"}}, "SENTRY_METRIC_SEVERITIES'] must map"),
    ],
)
def test_invalid_webhook_settings_are_error_e007(
    settings: Any, webhooks: dict[str, Any], message: str
) -> None:
    with_webhooks(settings, **webhooks)

    errors = check_webhooks()

    assert [error.id for error in errors] == ["nzila_ops.E007"]
    assert message in errors[0].msg


def test_manage_py_check_fails_on_them(settings: Any) -> None:
    with_webhooks(settings, MAX_BODY_BYTES="big")

    with pytest.raises(SystemCheckError, match=r"nzila_ops\.E007"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_the_defaults_and_a_full_configuration_pass(settings: Any) -> None:
    assert check_webhooks() == []
    with_webhooks(settings, PAGERDUTY_SECRETS="old,new", UPTIMEROBOT_TOKEN="t" * 43,
                  SENTRY_CLIENT_SECRET="s", MAX_BODY_BYTES=65536)  # fmt: skip

    assert check_webhooks() == []
    assert check_webhook_token() == []


def test_a_short_uptimerobot_token_is_warning_w004_on_deploy(settings: Any) -> None:
    # The token is the only proof an UptimeRobot alert is genuine: a guessable one lets anyone
    # open and resolve incidents.
    with_webhooks(settings, UPTIMEROBOT_TOKEN="secret")

    warnings = check_webhook_token()

    assert [warning.id for warning in warnings] == ["nzila_ops.W004"]
    assert "secret" not in warnings[0].msg  # never the token itself
    with_webhooks(settings, UPTIMEROBOT_TOKEN=None)
    assert check_webhook_token() == []
