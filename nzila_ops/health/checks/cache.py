from __future__ import annotations

import uuid

from django.core.cache import caches

from nzila_ops.health.base import Check


class CacheCheck(Check):
    """Write, read and delete a key in a Django cache (option ``cache``, default "default")."""

    name = "cache"

    def check(self) -> str | None:
        cache = caches[self.options.get("cache", "default")]
        key, value = f"nzila_ops:health:{uuid.uuid4().hex}", uuid.uuid4().hex
        cache.set(key, value, 30)
        if cache.get(key) != value:
            raise RuntimeError("the cache did not return the value just written")
        cache.delete(key)
        return None
