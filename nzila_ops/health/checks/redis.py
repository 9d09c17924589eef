from __future__ import annotations

import threading
from typing import Any

from nzila_ops.health.base import Check


class RedisCheck(Check):
    """PING a Redis server (option ``url``, default CELERY_BROKER_URL or redis://127.0.0.1:6379/0).

    The client is kept between polls; its socket timeouts equal the check's timeout, so a hung
    server (SIGSTOP) frees the worker thread soon after the check has been reported failing."""

    name = "redis"
    _clients: dict[tuple[str, float], Any] = {}
    _lock = threading.Lock()

    def url(self) -> str:
        from django.conf import settings

        return self.options.get("url") or getattr(
            settings, "CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"
        )

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
