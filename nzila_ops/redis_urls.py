"""Which URLs name a Redis: one rule for the health check, the Celery task metrics and the
METRICS settings' validation."""

from __future__ import annotations

#: The URL schemes redis-py connects to. Any other broker (RabbitMQ, kombu's filesystem
#: transport of `make demo`) has no Redis behind it.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def is_redis_url(url: object) -> bool:
    return isinstance(url, str) and url.lower().startswith(REDIS_SCHEMES)
