from __future__ import annotations

import os
import threading
import uuid

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from nzila_ops.health.base import Check


class CacheCheck(Check):
    """Write then read back a key in a Django cache (option ``cache``, default "default")."""

    name = "cache"

    def check(self) -> str | None:
        cache = caches[self.options.get("cache", "default")]
        # One key per process and thread, overwritten at each poll: nothing piles up, so no
        # delete round trip is needed.
        key = f"nzila_ops:health:{os.getpid()}:{threading.get_ident()}"
        value = uuid.uuid4().hex
        if isinstance(cache, RedisCache):
            # Django builds a new redis client for every operation (costly in redis-py 8) and
            # may read from a replica; one pipelined round trip to the primary costs a third
            # and cannot miss its own write. (_cache.get_client: Django's own, since 4.0.)
            full_key = cache.make_and_validate_key(key)
            client = cache._cache.get_client(full_key, write=True)
            with client.pipeline(transaction=False) as pipe:
                _, stored = pipe.set(full_key, value, ex=30).get(full_key).execute()
            ok = stored == value.encode()
        else:
            cache.set(key, value, 30)
            ok = cache.get(key) == value
        if not ok:
            raise RuntimeError("the cache did not return the value just written")
        return None
