"""The cache backends that count hits and misses, on real Redis (db 10), locmem and files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.cache import caches

from nzila_ops.observability.metrics.cache import UNNAMED, LocMemCache, RedisCache
from tests.observability.metrics_helpers import sample

REDIS_URL = "redis://127.0.0.1:6379/10"
BACKENDS = {
    "counted_redis": {"BACKEND": "nzila_ops.observability.metrics.cache.RedisCache"},
    "counted_locmem": {
        "BACKEND": "nzila_ops.observability.metrics.cache.LocMemCache",
        "LOCATION": "metrics-tests",
    },
    "counted_files": {"BACKEND": "nzila_ops.observability.metrics.cache.FileBasedCache"},
}


@pytest.fixture
def counted_caches(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.CACHES = {
        **settings.CACHES,
        "counted_redis": {**BACKENDS["counted_redis"], "LOCATION": REDIS_URL},
        "counted_locmem": BACKENDS["counted_locmem"],
        "counted_files": {**BACKENDS["counted_files"], "LOCATION": str(tmp_path / "cache")},
    }
    yield
    redis.Redis.from_url(REDIS_URL).flushdb()


def counts(alias: str) -> tuple[float, float]:
    return sample("nzila_cache_hits_total", cache=alias), sample(
        "nzila_cache_misses_total", cache=alias
    )


@pytest.mark.parametrize("alias", list(BACKENDS))
def test_gets_are_counted_as_hits_and_misses(counted_caches: None, alias: str) -> None:
    cache = caches[alias]
    hits, misses = counts(alias)
    cache.set("present", "value")
    cache.set("stored-none", None)
    assert cache.get("present") == "value"
    assert cache.get("stored-none", "default") is None  # a stored None is a hit
    assert cache.get("absent", "default") == "default"
    assert counts(alias) == (hits + 2, misses + 1)


@pytest.mark.parametrize("alias", list(BACKENDS))
def test_get_many_counts_each_key_once(counted_caches: None, alias: str) -> None:
    cache = caches[alias]
    cache.set("a", 1)
    hits, misses = counts(alias)
    assert cache.get_many(["a", "b", "c"]) == {"a": 1}
    assert counts(alias) == (hits + 1, misses + 2)


@pytest.mark.parametrize("alias", list(BACKENDS))
def test_get_or_set_counts_its_read(counted_caches: None, alias: str) -> None:
    cache = caches[alias]
    hits, misses = counts(alias)
    assert cache.get_or_set("computed", lambda: 42) == 42
    assert cache.get_or_set("computed", lambda: 0) == 42
    # Django reads again after its add() (another caller may have won): a miss, then two hits.
    assert counts(alias) == (hits + 2, misses + 1)


def test_writes_and_key_checks_are_not_reads(counted_caches: None) -> None:
    cache = caches["counted_redis"]
    before = counts("counted_redis")
    cache.set("k", 1)
    cache.has_key("k")
    cache.delete("k")
    assert counts("counted_redis") == before


def test_a_backend_built_outside_caches_is_unnamed_not_its_location() -> None:
    before = sample("nzila_cache_misses_total", cache=UNNAMED)
    RedisCache("redis://:hunter2@127.0.0.1:6379/10", {}).get("nothing")
    LocMemCache("elsewhere", {}).get("nothing")
    assert sample("nzila_cache_misses_total", cache=UNNAMED) == before + 2


def test_the_example_project_cache_is_counted_under_its_alias() -> None:
    # tests.settings is the example project's: its CACHES names the counting LocMemCache.
    before = sample("nzila_cache_misses_total", cache="default")
    caches["default"].get("nzila-metrics-test-absent")
    assert sample("nzila_cache_misses_total", cache="default") == before + 1
