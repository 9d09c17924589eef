"""Helpers for the state-collector tests: a scrape as Prometheus reads it, and Redis db 11."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from nzila_ops.observability.metrics.celery_tracking import forget_backoff
from nzila_ops.observability.metrics.state import StateCollector

# The Redis db of these tests, apart from the other test files' (flushed before and after).
REDIS_URL = "redis://127.0.0.1:6379/11"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape() -> Samples:
    """The state collector's output through a per-scrape registry, as text, parsed back the
    way Prometheus reads it: {(sample name, sorted labels): value}."""
    registry = CollectorRegistry()
    registry.register(StateCollector())
    text = generate_latest(registry).decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def key(metric: str, /, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return metric, tuple(sorted(labels.items()))


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def redis_db_11(settings: Any) -> Iterator[Any]:
    """For a fixture: Redis db 11, empty, as METRICS['REDIS_URL'] (a client of it)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    settings.NZILA_OPS = {**settings.NZILA_OPS, "METRICS": {"REDIS_URL": REDIS_URL}}
    forget_backoff()
    yield client
    client.flushdb()
    forget_backoff()


def set_metrics(settings: Any, **metrics: Any) -> None:
    """Change METRICS keys (REDIS_URL kept unless given)."""
    current = dict(settings.NZILA_OPS.get("METRICS", {}))
    settings.NZILA_OPS = {**settings.NZILA_OPS, "METRICS": {**current, **metrics}}


def scrape_in_thread(bound: float) -> Samples | None:
    """A scrape from another thread (as a server's request thread), waited for at most
    ``bound`` seconds: None if it has not answered by then. Its database connection is
    closed, as Django closes a request's."""
    import threading

    from django.db import connections

    answered: list[Samples] = []

    def run() -> None:
        try:
            answered.append(scrape())
        finally:
            connections.close_all()

    scraper = threading.Thread(target=run)
    scraper.start()
    scraper.join(bound)
    return answered[0] if answered else None
