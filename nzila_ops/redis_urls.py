"""Which URLs name a Redis, and which Redis the deployment's Celery broker is: one rule for
the health check, the Celery task metrics and the METRICS settings' validation."""

from __future__ import annotations

#: The URL schemes redis-py connects to. Any other broker (RabbitMQ, kombu's filesystem
#: transport of `make demo`) has no Redis behind it.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
#: The broker assumed when neither the Celery app nor CELERY_BROKER_URL names one.
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"


def is_redis_url(url: object) -> bool:
    return isinstance(url, str) and url.lower().startswith(REDIS_SCHEMES)


def broker_redis_url() -> str | None:
    """The Celery broker's URL when it is a Redis one, else None.

    The current Celery app's conf comes first (broker_write_url, then broker_url): it is the
    broker the workers use, and a host project's app configured from Django settings reads
    CELERY_BROKER_URL through it. CELERY_BROKER_URL then covers an app that has none, and
    DEFAULT_BROKER_URL a deployment that sets neither."""
    from celery import current_app
    from django.conf import settings

    conf = current_app.conf
    broker = str(
        conf.broker_write_url
        or conf.broker_url
        or getattr(settings, "CELERY_BROKER_URL", None)
        or DEFAULT_BROKER_URL
    )
    return broker if is_redis_url(broker) else None
