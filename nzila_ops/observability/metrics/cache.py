"""Cache backends that count hits and misses (``nzila_cache_hits_total``, ``..._misses_total``).

Django sends no signal on a cache read, so the count is taken where the read happens: in the
backend, as django-prometheus does. A host names one of these in CACHES instead of Django's own
(same options, same behaviour)::

    CACHES = {"default": {
        "BACKEND": "nzila_ops.observability.metrics.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1",
    }}

Any other backend gets the counts with the mixin: ``class MyCache(CacheMetricsMixin, Backend)``.

Counted: ``get`` (and what Django builds on it: ``get_or_set``, the ``a*`` async methods) and
``get_many`` (each key a hit or a miss). ``has_key``, writes and deletes are not reads of a value
and are not counted. The ``cache`` label is the backend's alias in CACHES.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache.backends import filebased, locmem, redis
from django.core.cache.backends.base import BaseCache

from nzila_ops.observability.metrics.failures import recording_failed
from nzila_ops.observability.metrics.instruments import CACHE_HITS, CACHE_MISSES

_MISSING = object()
UNNAMED = "unnamed"


def cache_alias(backend: type, location: Any, params: dict[str, Any]) -> str:
    """The CACHES alias this backend was built from; Django hands a backend its entry (minus
    BACKEND and LOCATION) but not its alias. Two identical entries are one cache: the first wins."""
    for alias, entry in getattr(settings, "CACHES", {}).items():
        rest = {k: v for k, v in entry.items() if k not in ("BACKEND", "LOCATION")}
        same_backend = str(entry.get("BACKEND", "")).rsplit(".", 1)[-1] == backend.__name__
        if same_backend and entry.get("LOCATION", "") == location and rest == params:
            return str(alias)
    # Built by hand, outside CACHES: never the location, which may hold a password.
    return UNNAMED


class CacheMetricsMixin:
    """Counts hits and misses of the backend it is mixed into (put it first in the bases)."""

    def __init__(self, location: Any, params: dict[str, Any]) -> None:
        super().__init__(location, params)  # type: ignore[call-arg]  # the backend's signature
        self._metrics_alias = cache_alias(type(self), location, params)
        # BaseCache.get_many calls self.get per key, which counts already.
        own = getattr(super(), "get_many", None)
        self._metrics_get_many_counts = getattr(own, "__func__", None) is not BaseCache.get_many

    def _count(self, hits: int, misses: int) -> None:
        try:
            if hits:
                CACHE_HITS.labels(self._metrics_alias).inc(hits)
            if misses:
                CACHE_MISSES.labels(self._metrics_alias).inc(misses)
        except Exception:
            recording_failed("a cache read")  # the read itself is answered all the same

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        value = super().get(key, _MISSING, version)  # type: ignore[misc]
        if value is _MISSING:
            self._count(0, 1)
            return default
        self._count(1, 0)
        return value

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        if not self._metrics_get_many_counts:
            return super().get_many(keys, version)  # type: ignore[misc, no-any-return]
        keys = list(keys)
        found: dict[str, Any] = super().get_many(keys, version)  # type: ignore[misc]
        self._count(len(found), max(len(set(keys)) - len(found), 0))
        return found


class RedisCache(CacheMetricsMixin, redis.RedisCache):
    """django.core.cache.backends.redis.RedisCache, counting hits and misses."""


class LocMemCache(CacheMetricsMixin, locmem.LocMemCache):
    """django.core.cache.backends.locmem.LocMemCache, counting hits and misses."""


class FileBasedCache(CacheMetricsMixin, filebased.FileBasedCache):
    """django.core.cache.backends.filebased.FileBasedCache, counting hits and misses."""
