from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nzila_ops.health.checks.database import close_pooled_connections
from nzila_ops.health.runner import clear_cache
from tests.support.redis_server import PrivateRedis


@pytest.fixture(autouse=True)
def _fresh_health_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()
    close_pooled_connections()  # else the test database cannot be flushed or dropped


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    yield server
    server.close()


@pytest.fixture
def three_checks(settings: Any, private_redis: PrivateRedis) -> PrivateRedis:
    """/ops/health/ with the database, cache and Redis checks, as UptimeRobot polls it."""
    redis = private_redis.url
    settings.NZILA_OPS = {
        "STORAGES": {"default": "file:///tmp/nzila-health-tests"},
        "HEALTH_CHECKS": [
            "nzila_ops.health.checks.database.DatabaseCheck",
            "nzila_ops.health.checks.cache.CacheCheck",
            {"CHECK": "nzila_ops.health.checks.redis.RedisCheck", "OPTIONS": {"url": redis}},
        ],
        "HEALTH_TOKEN": "s3cret-token",
        "HEALTH_CACHE_SECONDS": 0,
    }
    return private_redis
