"""A component flipping down and up keeps one incident (docs/incidents.md, Flapping)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from nzila_ops.health.uptime import sample_health
from nzila_ops.models import Incident
from nzila_ops.tasks import retry_deliveries_task
from tests.support.redis_server import PrivateRedis

pytestmark = pytest.mark.postgres


@pytest.fixture
def redis_watched(settings: Any, private_redis: PrivateRedis) -> PrivateRedis:
    settings.NZILA_OPS = {
        **settings.NZILA_OPS,
        "HEALTH_CHECKS": [{"CHECK": "nzila_ops.health.checks.redis.RedisCheck",
                           "OPTIONS": {"url": private_redis.url}}],
        "HEALTH_FAILURES_BEFORE_DOWN": 1,
        "HEALTH_TIMEOUT_SECONDS": 0.5,
        "INCIDENT_FLAP_SECONDS": 600,
    }  # fmt: skip
    return private_redis


def down(redis: PrivateRedis, at: Any) -> None:
    with redis.stopped():
        sample_health(at)


def kinds(incident: Incident) -> list[str]:
    return list(incident.events.exclude(kind__in=["paged", "note"]).values_list("kind", flat=True))


def test_a_flapping_component_keeps_one_incident_until_it_stays_up(
    transactional_db: Any, redis_watched: PrivateRedis
) -> None:
    t0 = timezone.now()
    minute = timedelta(minutes=1)
    sample_health(t0)
    down(redis_watched, t0 + minute)
    sample_health(t0 + 2 * minute)  # up: resolved (it has not flapped yet)
    incident = Incident.objects.get()
    assert incident.status == "resolved"
    down(redis_watched, t0 + 4 * minute)  # down again within 10 min: the same incident
    sample_health(t0 + 5 * minute)  # up, but flapping: held open
    down(redis_watched, t0 + 6 * minute)
    sample_health(t0 + 7 * minute)
    incident.refresh_from_db()
    assert Incident.objects.count() == 1
    assert incident.status == "triggered" and incident.up_since == t0 + 7 * minute
    assert kinds(incident) == ["opened", "resolved", "reopened", "repeated"]

    with time_machine.travel(t0 + 16 * minute):  # up for 9 minutes: not yet
        retry_deliveries_task.apply().get()
    incident.refresh_from_db()
    assert incident.status == "triggered"
    with time_machine.travel(t0 + 17 * minute):  # up for 10 minutes: settled
        assert retry_deliveries_task.apply().get()["settled"] == [incident.pk]
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_at == t0 + 7 * minute
    assert kinds(incident) == ["opened", "resolved", "reopened", "repeated", "resolved"]
    # One mail per transition: four, for six flips.
    assert [m.subject.split(": ")[0].split()[-1] for m in mail.outbox] == [
        "opened",
        "nzila_ops",
        "REOPENED",
        "nzila_ops",
    ]


def test_going_down_after_the_window_opens_a_new_incident(
    transactional_db: Any, redis_watched: PrivateRedis
) -> None:
    t0 = timezone.now()
    sample_health(t0)
    down(redis_watched, t0 + timedelta(minutes=1))
    sample_health(t0 + timedelta(minutes=2))
    down(redis_watched, t0 + timedelta(minutes=13))  # 11 minutes after the resolution
    first, second = Incident.objects.order_by("id")
    assert first.status == "resolved" and second.status == "triggered"
    assert kinds(first) == ["opened", "resolved"] and kinds(second) == ["opened"]
