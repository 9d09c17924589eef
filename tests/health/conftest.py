from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nzila_ops.health.connections import close_pooled_connections
from nzila_ops.health.runner import clear_cache
from nzila_ops.signals import component_flipped
from tests.support.redis_server import PrivateRedis


@pytest.fixture(autouse=True)
def _fresh_health_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()
    close_pooled_connections()  # else the test database cannot be flushed or dropped


@pytest.fixture
def heard() -> Iterator[list[dict[str, Any]]]:
    """The component_flipped signals sent during the test, their keyword arguments in order."""
    signals: list[dict[str, Any]] = []
    component_flipped.connect(lambda **kw: signals.append(kw), weak=False, dispatch_uid="t-heard")
    yield signals
    component_flipped.disconnect(dispatch_uid="t-heard")


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


@pytest.fixture
def celery_worker_process() -> Iterator[None]:
    """A real worker on the broker the test process's Celery app uses."""
    import os
    import subprocess
    import sys
    import time

    from celery import current_app

    from tests.support.host import REPO

    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "nzila_export_hub", "worker", "-P", "solo",
         "--without-mingle", "--without-gossip", "--loglevel", "ERROR"],
        cwd=REPO / "example_project", env={**os.environ, "DJANGO_SETTINGS_MODULE":
        "nzila_export_hub.settings", "CELERY_BROKER_URL": current_app.conf.broker_url},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not current_app.control.ping(timeout=0.5):
            assert process.poll() is None and time.monotonic() < deadline, "worker not ready"
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
