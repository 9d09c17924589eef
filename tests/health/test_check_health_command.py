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


def test_the_command_exits_once_it_has_answered_though_redis_is_hung(tmp_path: Any) -> None:
    """With the broker's Redis frozen (SIGSTOP), the checks on it time out and are reported;
    the process must then exit, not linger on threads blocked on the dead socket."""
    import subprocess
    import sys

    from django.db import connections

    from tests.support import pg
    from tests.support.host import MANAGE_PY, example_env
    from tests.support.redis_server import PrivateRedis

    s = connections["default"].settings_dict
    env = example_env(
        DATABASE_URL=pg.url(s["NAME"]),
        CELERY_BROKER_URL=(redis := PrivateRedis()).url,
        NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path}",
    )
    try:
        with redis.stopped():
            process = subprocess.Popen(
                [sys.executable, str(MANAGE_PY), "check_health", "redis", "celery_workers",
                 "database", "--skip-checks"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                # A hang detector, not a timing assertion: the checks time out after 2 s.
                out, err = process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
                pytest.fail(f"check_health still running 60 s after its start; it printed:\n{out}")
    finally:
        redis.close()
    assert process.returncode == 1, err
    assert err.strip() == "CommandError: failing: redis, celery_workers"
    statuses = {line.split()[0]: line.split()[1] for line in out.splitlines()}
    assert statuses == {"redis": "failing", "celery_workers": "failing", "database": "ok"}


@pytest.mark.django_db
def test_any_unknown_name_is_refused_in_one_line(settings: Any) -> None:
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from hypothesis import strategies as st

    settings.NZILA_OPS = {
        "STORAGES": {"default": "file:///tmp/nzila-health-tests"},
        "HEALTH_CHECKS": ["nzila_ops.health.checks.system.DiskSpaceCheck"],
    }
    names = st.one_of(
        st.text(min_size=1, max_size=40),
        st.sampled_from(["..", "disk/", "DISK", "disk\n", "--json", "\x00", "\u2603"]),
        st.integers(1_000, 20_000).map(lambda n: "x" * n),
    ).filter(lambda name: name != "disk" and not name.startswith("-"))

    @hypothesis_settings(max_examples=150, deadline=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(st.lists(names, min_size=1, max_size=3))
    def refused(given_names: list[str]) -> None:
        out = StringIO()
        with pytest.raises(CommandError) as caught:
            call_command("check_health", *given_names, stdout=out)
        assert caught.value.returncode == 2 and out.getvalue() == ""
        message = str(caught.value)
        assert message.startswith("unknown check(s) ") and "\n" not in message
        assert len(message) < 1000

    refused()
