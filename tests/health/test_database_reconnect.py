"""A connection the server closed is not an outage.

A restore terminates the live database's sessions (pg_terminate_backend) and PostgreSQL may be
restarted: the health threads' connections are then dead. The very first poll afterwards must
answer from a fresh connection, and the sampling task must record no flip.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection

from nzila_ops.health.base import Status
from nzila_ops.health.checks.database import DatabaseCheck
from nzila_ops.health.checks.system import MigrationsCheck
from nzila_ops.health.uptime import sample_health
from nzila_ops.models import ComponentFlip, ComponentState
from tests.support import pg


def terminate_sessions(keep: int | None = None) -> int:
    """As a restore's swap does: end every session on the test database (but ``keep``)."""
    with pg.admin() as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s",
            [connection.settings_dict["NAME"], keep or 0],
        ).fetchall()
    return len(rows)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("check", [DatabaseCheck(), MigrationsCheck()], ids=lambda c: c.name)
def test_the_first_poll_after_the_sessions_were_terminated_is_ok(check: Any) -> None:
    # In this thread: the connection the check used is certainly the one terminated.
    assert check.run().status is Status.OK
    assert connection.connection is not None
    assert terminate_sessions() >= 1
    result = check.run()
    assert result.status is Status.OK, result.reason


@pytest.mark.django_db(transaction=True)
def test_a_restore_terminating_sessions_records_no_flip(settings: Any) -> None:
    settings.NZILA_OPS = {
        "STORAGES": {"default": "file:///tmp/nzila-health-tests"},
        "HEALTH_CHECKS": [
            "nzila_ops.health.checks.database.DatabaseCheck",
            "nzila_ops.health.checks.system.MigrationsCheck",
        ],
        "HEALTH_FAILURES_BEFORE_DOWN": 1,  # one failing sample would be a recorded outage
    }
    for _ in range(3):  # every health thread holds its connections
        sample_health()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own,) = cursor.fetchone()
    assert terminate_sessions(keep=own) >= 1
    assert sample_health() == []
    assert sample_health() == []
    assert not ComponentFlip.objects.filter(new="failing").exists()
    assert set(ComponentState.objects.values_list("component", "status")) == {
        ("database", "ok"), ("migrations", "ok"),
    }  # fmt: skip


def test_a_database_nobody_listens_for_still_fails(tmp_path: Any) -> None:
    """A fresh connection is tried once; a real outage (here a wrong port) stays failing."""
    from tests.support.host import example_env, manage
    from tests.support.s3 import free_port

    env = example_env(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/gone",
        NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path}",
    )
    result = manage(env, "check_health", "database", "migrations", "--json", "--skip-checks")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)["checks"]
    for name in ("database", "migrations"):
        assert report[name]["status"] == "failing"
        assert "refused" in report[name]["reason"].lower(), report[name]
