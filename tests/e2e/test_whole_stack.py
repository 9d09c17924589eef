"""The whole stack end to end, as production runs it (issue 15).

The example project runs on a PostgreSQL database of its own, with a Celery worker, Celery beat
(django-celery-beat's DatabaseScheduler, entries installed by ``manage.py setup_schedules``)
and gunicorn, backups in moto's S3 (copied to a second bucket) and incidents paged to the fake
PagerDuty (tests/e2e/conftest.py). Two schedule changes make the test take seconds, not hours:
health sampling runs every 2 s instead of every minute, and an entry the test comes to (backup,
retention, drill) is made due at once, as if its time had come.

Which Redis is stopped: a deployment keeps the Celery broker and the Django cache on two Redis
servers (or two Redis services of its provider), and this one does. The one stopped is the
cache's, whose failure the ``cache`` health check (critical) sees by writing and reading a key.
Stopping the broker instead would stop the sampler with it (beat sends sample_health through
the broker, the worker takes it from there): no sample would be taken, and its stretch would
be recorded as unobserved (``unknown``), not as downtime; an outage of the broker is the
external monitor's to see (UptimeRobot polling /ops/health/, whose ``redis`` check pings the
broker). With the broker up, beat and the worker go on and record the cache's flip down and
back up, which opens and resolves an incident, paged to PagerDuty as a trigger and a resolve.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from nzila_ops.backups.manifest import manifest_key
from tests.e2e.conftest import Stack
from tests.observability.prometheus_proof_support import http_get

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.postgres, pytest.mark.s3]


def backup(stack: Stack, name: str) -> dict[str, Any]:
    (row,) = stack.rows(
        "SELECT status, storage_key, finished_at, deleted_at FROM nzila_ops_backuprecord "
        "WHERE name = %s",
        name,
    )
    return dict(zip(("status", "key", "finished_at", "deleted_at"), row, strict=True))


def copied_to(stack: Stack, name: str) -> list[tuple[Any, ...]]:
    """The storages holding a succeeded copy of backup ``name``."""
    return stack.rows(
        "SELECT c.storage_name FROM nzila_ops_backupcopy c JOIN nzila_ops_backuprecord b "
        "ON b.id = c.backup_id WHERE b.name = %s AND c.status = 'succeeded'",
        name,
    )


def triggers(stack: Stack, component: str) -> list[dict[str, Any]]:
    """The triggers PagerDuty accepted for incidents of ``component``."""
    return [
        event
        for event in list(stack.pagerduty.accepted)
        if event["event_action"] == "trigger"
        and event["payload"].get("custom_details", {}).get("component") == component
    ]


def resolves(stack: Stack, dedup_key: str) -> list[dict[str, Any]]:
    return [
        event
        for event in list(stack.pagerduty.accepted)
        if event["event_action"] == "resolve" and event["dedup_key"] == dedup_key
    ]


def test_the_whole_stack_backs_up_copies_prunes_pages_recovers_drills_and_reports(
    stack: Stack,
) -> None:
    # Beat runs the backup entry (due at once): the backup succeeds, in the primary bucket with
    # its manifest beside it.
    (name,) = stack.wait(
        "beat's backup of 'default' to succeed",
        lambda: stack.rows(
            "SELECT name FROM nzila_ops_backuprecord WHERE status = 'succeeded' AND name <> %s "
            "ORDER BY started_at LIMIT 1",
            stack.older_backup,
        ),
    )[0]
    made = backup(stack, name)
    in_primary = stack.keys(stack.primary_bucket)
    assert {made["key"], manifest_key("default", name)} <= in_primary, in_primary

    # Its copy lands on the second storage, verified.
    stack.wait(
        f"the copy of {name} to storage 'second'",
        lambda: ("second",) in copied_to(stack, name),
    )
    in_copies = stack.keys(stack.copy_bucket)
    assert {made["key"], manifest_key("default", name)} <= in_copies, in_copies

    # Retention runs: the older backup goes from both storages, the new one stays.
    stack.wait(
        f"the older backup {stack.older_backup} copied too (retention then has two of each)",
        lambda: copied_to(stack, stack.older_backup),
    )
    older = backup(stack, stack.older_backup)
    assert older["key"] in stack.keys(stack.copy_bucket)
    stack.run_now("nzila_ops: retention")
    stack.wait(
        f"retention to delete {stack.older_backup}",
        lambda: backup(stack, stack.older_backup)["deleted_at"] is not None,
    )
    for bucket in (stack.primary_bucket, stack.copy_bucket):
        stack.wait(
            f"retention to delete {stack.older_backup} from bucket {bucket}",
            lambda bucket=bucket: older["key"] not in stack.keys(bucket),
            timeout=30,
        )
        assert made["key"] in stack.keys(bucket)
    assert stack.rows(
        "SELECT c.status FROM nzila_ops_backupcopy c JOIN nzila_ops_backuprecord b "
        "ON b.id = c.backup_id WHERE b.name = %s",
        stack.older_backup,
    ) == [("deleted",)]

    # The cache's Redis stops: the sampler records the flip, an incident opens, PagerDuty is
    # triggered.
    ((before,),) = stack.rows("SELECT coalesce(max(id), 0) FROM nzila_ops_componentflip")
    stack.cache.stop()
    stack.wait(
        "the 'cache' component recorded down",
        lambda: stack.rows(
            "SELECT 1 FROM nzila_ops_componentflip WHERE component = 'cache' AND new = 'failing' "
            "AND id > %s",
            before,
        ),
    )
    key, opened_status = stack.wait(
        "an incident opened for 'cache'",
        lambda: stack.rows(
            "SELECT key, status FROM nzila_ops_incident WHERE component = 'cache' "
            "AND resolved_at IS NULL"
        ),
    )[0]
    assert opened_status == "triggered"
    stack.wait(
        "PagerDuty to receive the trigger of the 'cache' incident",
        lambda: triggers(stack, "cache"),
    )
    # One alert: a trigger sent again (the component flapping on a loaded machine) names the
    # same incident.
    trigger = triggers(stack, "cache")[0]
    assert {t["dedup_key"] for t in triggers(stack, "cache")} == {key}
    assert trigger["routing_key"] in stack.pagerduty.routing_keys

    # It comes back: the flip up is recorded, the incident resolves, PagerDuty gets the resolve.
    stack.cache.start()
    stack.wait(
        "the 'cache' component recorded up again",
        lambda: stack.rows(
            "SELECT 1 FROM nzila_ops_componentflip WHERE component = 'cache' "
            "AND old = 'failing' AND new = 'ok' AND id > %s",
            before,
        ),
    )
    stack.wait(
        "the 'cache' incident resolved",
        lambda: stack.rows(
            "SELECT 1 FROM nzila_ops_incident WHERE key = %s AND status = 'resolved'", key
        ),
    )
    stack.wait(
        "PagerDuty to receive the resolve of the 'cache' incident",
        lambda: resolves(stack, key),
    )
    assert stack.pagerduty.alerts[(trigger["routing_key"], key)].status == "resolved"

    # A drill passes and its RTO is recorded.
    stack.run_now("nzila_ops: DR drill default")
    result, rto = stack.wait(
        "the DR drill of 'default' to finish",
        lambda: stack.rows("SELECT result, rto_seconds FROM nzila_ops_drillrecord"),
    )[0]
    assert result == "passed", stack.rows("SELECT error FROM nzila_ops_drillrecord")
    assert rto is not None and rto > 0

    # The SLA report of this month shows the cache's downtime and the drill's RTO.
    period = datetime.now(UTC).strftime("%Y-%m")
    report = json.loads(stack.manage("sla_report", "--period", period, "--format", "json"))
    rows = {row["component"]: row for row in report["components"]}
    assert rows["cache"]["down_seconds"] > 0, rows["cache"]
    drills = report["data_protection"]["drills"]
    assert drills["passed"] == 1 and drills["latest_rto_seconds"] == pytest.approx(rto)

    # /ops/metrics (with its token) shows the backup of 'default'.
    status, body = http_get(f"{stack.base_url}/ops/metrics", token=stack.metrics_token)
    assert status == 200, body[:300]
    newest = max(
        float(line.rsplit(" ", 1)[1])
        for line in body.decode().splitlines()
        if line.startswith('nzila_backup_last_success_timestamp_seconds{database="default"}')
    )
    assert newest >= made["finished_at"].timestamp() - 1
