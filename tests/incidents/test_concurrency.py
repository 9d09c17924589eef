"""Two workers at once on real PostgreSQL: one acknowledgement, one incident per key, one
delivery each."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection

from nzila_ops.incidents import service
from nzila_ops.models import Delivery, Incident, IncidentEvent

pytestmark = pytest.mark.postgres
ROUNDS = 10


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each thread has its own connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def new_incident(n: int) -> Incident:
    incident, _ = service.open_incident(
        key=f"api-{n}", component="api", severity="P1", source="health", title="api is DOWN"
    )
    return incident


def test_two_workers_acknowledging_at_once_give_one_acknowledgement(
    transactional_db: Any,
) -> None:
    for n in range(ROUNDS):
        incident = new_incident(n)
        results = at_once(
            partial(service.acknowledge, incident.pk, by="alice"),
            partial(service.acknowledge, incident.pk, by="bob", source="pagerduty"),
        )
        assert sorted(results) == [False, True]
        incident.refresh_from_db()
        winner = "alice" if results[0] else "bob"
        assert incident.status == "acknowledged" and incident.acknowledged_by == winner
        acks = IncidentEvent.objects.filter(incident=incident, kind="acknowledged")
        assert acks.count() == 1
        assert Delivery.objects.filter(event__in=acks).count() == 1  # the one e-mail backend
        assert list(Delivery.objects.filter(event__in=acks).values_list("status", flat=True)) == [
            "sent"
        ]


def test_two_workers_resolving_and_acknowledging_at_once_end_resolved(
    transactional_db: Any,
) -> None:
    for n in range(ROUNDS):
        incident = new_incident(n)
        at_once(
            partial(service.resolve, incident.pk, by="alice"),
            partial(service.acknowledge, incident.pk, by="bob"),
        )
        incident.refresh_from_db()
        assert incident.status == "resolved"
        kinds = list(incident.events.exclude(kind="paged").values_list("kind", flat=True))
        # Either the acknowledgement came first, or it found the incident resolved.
        assert kinds in (["opened", "resolved"], ["opened", "acknowledged", "resolved"])


def test_two_workers_opening_one_key_at_once_give_one_incident(transactional_db: Any) -> None:
    for n in range(ROUNDS):
        results = at_once(
            partial(service.open_incident, key=f"db-{n}", component="database", severity="P0",
                    source="health", title="database is DOWN"),
            partial(service.open_incident, key=f"db-{n}", component="database", severity="P0",
                    source="uptimerobot", title="database is DOWN"),
        )  # fmt: skip
        assert sorted(opened for _incident, opened in results) == [False, True]
        assert results[0][0].pk == results[1][0].pk
        incident = Incident.objects.get(key=f"db-{n}")
        kinds = list(incident.events.exclude(kind="paged").values_list("kind", flat=True))
        assert kinds == ["opened", "repeated"]
        assert Delivery.objects.filter(event__incident=incident).count() == 1
