from __future__ import annotations

import os
import threading
import uuid
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from nzila_ops.health.base import Check


class CacheCheck(Check):
    """Write then read back a key in a Django cache (option ``cache``, default "default")."""

    name = "cache"
    _clients: dict[tuple[str, float], Any] = {}
    _lock = threading.Lock()

    def redis_client(self, cache: RedisCache, timeout: float) -> Any:
        """A client of the cache's primary with socket timeouts of the check's own: Django's
        has none unless the host sets them (redis-py < 6: none at all), so a hung Redis kept
        a health thread forever. Kept between polls, like the RedisCheck's.
        (_cache._servers, _pool_class, _pool_options, _client: Django's own, since 4.0.)"""
        inner = cache._cache
        key = (inner._servers[0], timeout)
        with self._lock:
            if key not in self._clients:
                pool = inner._pool_class.from_url(
                    inner._servers[0],
                    **{**inner._pool_options, "socket_timeout": timeout,
                       "socket_connect_timeout": timeout},
                )  # fmt: skip
                self._clients[key] = inner._client(connection_pool=pool)
            return self._clients[key]

    def check(self) -> str | None:
        cache = caches[self.options.get("cache", "default")]
        # One key per process and thread, overwritten at each poll: nothing piles up, so no
        # delete round trip is needed.
        key = f"nzila_ops:health:{os.getpid()}:{threading.get_ident()}"
        value = uuid.uuid4().hex
        if isinstance(cache, RedisCache):
            # Django builds a new redis client for every operation (costly in redis-py 8) and
            # may read from a replica; one pipelined round trip to the primary costs a third
            # and cannot miss its own write.
            full_key = cache.make_and_validate_key(key)
            client = self.redis_client(cache, self.timeout_seconds())
            with client.pipeline(transaction=False) as pipe:
                _, stored = pipe.set(full_key, value, ex=30).get(full_key).execute()
            ok = stored == value.encode()
        else:
            cache.set(key, value, 30)
            ok = cache.get(key) == value
        if not ok:
            raise RuntimeError("the cache did not return the value just written")
        return None
