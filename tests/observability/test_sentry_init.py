"""init_sentry as a host's settings module calls it: off without a DSN, a clear error for a
bad argument, the SDK started with the options the operations plan asks for."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.integrations.redis import RedisIntegration

from nzila_ops.exceptions import ConfigurationError
from nzila_ops.observability import init_sentry
from tests.support.host import REPO
from tests.support.sentry_capture import DSN, StartSentry, start_sentry_fixture  # noqa: F401


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Code in a fresh interpreter with no Django settings at all, as a settings module runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SENTRY_"))}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def test_the_package_imports_before_django_is_configured_and_no_dsn_costs_nothing() -> None:
    result = run_python(
        "import sys\n"
        "from nzila_ops.observability import init_sentry\n"
        "import nzila_ops.exceptions\n"
        "from django.conf import settings\n"
        "assert not settings.configured\n"
        "print(init_sentry(dsn=None), init_sentry(dsn=''), init_sentry(dsn='  '),"
        " init_sentry(dsn=None, environment='production', release='1.2.3'))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sentry_sdk', 'celery')))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["False False False False", "[]"]


def test_without_a_dsn_no_client_is_started_and_nothing_is_sent(start_sentry: StartSentry) -> None:
    assert init_sentry(dsn="", environment="production", traces_sample_rate=1.0) is False
    assert not sentry_sdk.get_client().is_active()
    assert sentry_sdk.capture_message("anyone there?") is None


def test_with_a_dsn_every_option_of_the_plan_is_set(start_sentry: StartSentry) -> None:
    start_sentry(environment="staging", release="nzila@1.4.2")
    client = sentry_sdk.get_client()
    options = client.options
    assert client.is_active() and options["dsn"] == DSN
    assert options["environment"] == "staging" and options["release"] == "nzila@1.4.2"
    assert options["max_breadcrumbs"] == 50
    assert options["ignore_errors"] == [KeyboardInterrupt, BrokenPipeError]
    assert options["enable_db_query_source"] is True
    assert options["db_query_source_threshold_ms"] == 100
    assert client.should_send_default_pii() is False
    assert options["_experiments"]["record_sql_params"] is False
    assert options["traces_sampler"]({"parent_sampled": None}) == 0.1
    for integration in (DjangoIntegration, CeleryIntegration, RedisIntegration, LoggingIntegration):
        assert client.get_integration(integration) is not None, integration
    celery = client.get_integration(CeleryIntegration)
    assert celery.monitor_beat_tasks is True and celery.propagate_traces is True


def test_ignored_errors_are_not_sent(start_sentry: StartSentry) -> None:
    transport = start_sentry()
    for error in (KeyboardInterrupt(), BrokenPipeError(32, "Broken pipe"), ValueError("sent")):
        try:
            raise error
        except BaseException:
            sentry_sdk.capture_exception()
    events = transport.items("event")
    assert [e["exception"]["values"][-1]["type"] for e in events] == ["ValueError"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"traces_sample_rate": 1.5}, "traces sample rate must be a number from 0 to 1"),
        ({"traces_sample_rate": -0.1}, "traces sample rate must be a number from 0 to 1"),
        ({"traces_sample_rate": float("nan")}, "traces sample rate must be a number from 0 to 1"),
        ({"traces_sample_rate": "0.1"}, "traces sample rate must be a number from 0 to 1"),
        ({"traces_sample_rate": True}, "traces sample rate must be a number from 0 to 1"),
        ({"send_sql_params": "yes"}, "send_sql_params must be True or False"),
        ({"environment": ""}, "environment must be a non-empty string"),
        ({"release": 3}, "release must be a non-empty string"),
    ],
)
def test_a_bad_argument_is_one_line_even_without_a_dsn(
    arguments: dict[str, Any], message: str
) -> None:
    # Checked before the DSN: a staging host without Sentry learns of the mistake too.
    with pytest.raises(ConfigurationError, match=message) as caught:
        init_sentry(dsn=None, **arguments)
    assert "\n" not in str(caught.value)
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.parametrize(
    ("dsn", "reason"),
    [
        ("ftp://0123456789abcdef@sentry.example.com/1", "Unsupported scheme"),
        ("https://sentry.example.com/1", "Missing public key"),
        ("https://0123456789abcdef@sentry.example.com/project", "Invalid project"),
        ("https://0123456789abcdef@/1", "Missing hostname"),
        ("0123456789abcdef", "Unsupported scheme"),
    ],
)
def test_a_malformed_dsn_is_one_line_without_its_key(dsn: str, reason: str) -> None:
    with pytest.raises(ConfigurationError, match="Sentry DSN is malformed") as caught:
        init_sentry(dsn=dsn)
    assert reason in str(caught.value)
    assert "0123456789abcdef" not in str(caught.value) and "\n" not in str(caught.value)
    assert not sentry_sdk.get_client().is_active()


def test_a_dsn_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="Sentry DSN must be a string, not int"):
        init_sentry(dsn=42)  # type: ignore[arg-type]  # what a wrong env.int() gives


def test_a_hosts_own_before_send_runs_first_and_its_result_is_scrubbed(
    start_sentry: StartSentry,
) -> None:
    def add_owner(event: dict[str, Any], hint: Any) -> dict[str, Any]:
        event.setdefault("tags", {})["owner"] = "ops@nzila.example"
        event["extra"] = {"seen_by_host": True}
        return event

    def drop_noise(event: dict[str, Any], hint: Any) -> dict[str, Any] | None:
        return None if "noise" in event.get("message", "") else event

    transport = start_sentry(before_send=add_owner)
    sentry_sdk.capture_message("a real problem")
    (event,) = transport.items("event")
    assert event["extra"]["seen_by_host"] is True
    assert event["tags"]["owner"] == "[Filtered]"

    transport = start_sentry(before_send=drop_noise)
    sentry_sdk.capture_message("just noise")
    sentry_sdk.capture_message("signal")
    assert [e["message"] for e in transport.items("event")] == ["signal"]


def test_the_example_project_starts_sentry_from_its_environment() -> None:
    code = (
        "import sentry_sdk\n"
        "import nzila_export_hub.settings as s\n"
        "o = sentry_sdk.get_client().options\n"
        "print(o['dsn'], o['environment'], o['release'], o['_experiments']['record_sql_params'],"
        " o['traces_sampler']({'parent_sampled': None}))\n"
    )
    env_sentry = {
        "SENTRY_DSN": DSN,
        "SENTRY_ENVIRONMENT": "staging",
        "SENTRY_RELEASE": "nzila@2.0.0",
        "SENTRY_TRACES_SAMPLE_RATE": "0.25",
        "SENTRY_SEND_SQL_PARAMS": "true",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SENTRY_"))}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO / "example_project", env={**env, **env_sentry},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [DSN, "staging", "nzila@2.0.0", "True", "0.25"]

    off = subprocess.run(
        [sys.executable, "-c", "import sentry_sdk, nzila_export_hub.settings;"
         " print(sentry_sdk.get_client().is_active())"],
        cwd=REPO / "example_project", env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == "False"
