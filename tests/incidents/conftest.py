from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery.result import allow_join_result

# The health checks' result cache is emptied around every test, as in tests/health.
from tests.health.conftest import _fresh_health_cache  # noqa: F401  (an autouse fixture)
from tests.support.redis_server import PrivateRedis


@pytest.fixture(autouse=True)
def _celery_join_flag_restored() -> Iterator[None]:
    """Celery marks 'inside a task' in a process-wide flag while an eager task runs; two threads
    running eager tasks at once (the concurrency tests) can leave it set, and every later
    result.get() would refuse. allow_join_result() puts it back as it was before the test."""
    with allow_join_result():
        yield


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A Redis server of the test's own, which it can freeze (a real outage)."""
    server = PrivateRedis()
    yield server
    server.close()
