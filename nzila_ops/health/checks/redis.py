from __future__ import annotations

import threading
from typing import Any

from nzila_ops.health.base import Check
from nzila_ops.redis_urls import broker_redis_url, is_redis_url


def default_redis_url() -> str | None:
    """The deployment's Redis: the Celery broker's when it is a Redis (broker_redis_url()),
    else the default cache's LOCATION when that is one; None when it has no Redis (another
    broker, e.g. RabbitMQ or the demo's filesystem transport, and another cache)."""
    from django.conf import settings

    broker = broker_redis_url()
    if broker is not None:
        return broker
    location = getattr(settings, "CACHES", {}).get("default", {}).get("LOCATION")
    if isinstance(location, list | tuple):
        location = location[0] if location else None
    if is_redis_url(location):
        return str(location)
    return None


class RedisCheck(Check):
    """PING a Redis server (option ``url``, default ``default_redis_url()``).

    The client is kept between polls; its socket timeouts equal the check's timeout, so a hung
    server (SIGSTOP) frees the worker thread soon after the check has been reported failing."""

    name = "redis"
    _clients: dict[tuple[str, float], Any] = {}
    _lock = threading.Lock()

    def url(self) -> str:
        url = self.options.get("url") or default_redis_url()
        if not url:
            raise RuntimeError(
                "no Redis to check: the Celery broker and the default cache are not Redis "
                "(give the check OPTIONS url)"
            )
        return str(url)

    def client(self, timeout: float) -> Any:
        import redis

        key = (self.url(), timeout)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = redis.Redis.from_url(
                    key[0], socket_timeout=timeout, socket_connect_timeout=timeout
                )
            return self._clients[key]

    def check(self) -> str | None:
        if not self.client(self.timeout_seconds()).ping():
            raise RuntimeError("PING was not answered with PONG")
        return None
