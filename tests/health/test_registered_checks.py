"""Only checks that can pass are registered: a deployment without a Redis has no `redis`
check, the example project without a WebSocket server no `websocket` check. Each failed at
every sample (a failing critical component in `make demo`, whose broker is kombu's filesystem
transport)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from nzila_ops.health.base import Status
from nzila_ops.health.checks.redis import RedisCheck
from nzila_ops.health.registry import check_names
from tests.support.host import example_env, manage

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def project_celery_app() -> Iterator[None]:
    """The current Celery app is a host project's: configured from Django's settings, as
    Celery's Django guide does. The checks read its broker first (redis_urls), and in a whole
    test run another test's app may be the current one."""
    from celery import Celery, current_app

    app = Celery("nzila_project_like", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    previous = current_app._get_current_object()
    app.set_current()
    yield
    previous.set_current()


@pytest.mark.parametrize(
    ("broker", "caches", "pinged"),
    [
        ("redis://127.0.0.1:6379/0", LOCMEM, "redis://127.0.0.1:6379/0"),
        ("rediss://r.example:6380/1", LOCMEM, "rediss://r.example:6380/1"),
        ("amqp://guest@rabbit//", {"default": {"BACKEND": REDIS_CACHE,
                                               "LOCATION": "redis://c:6379/2"}}, "redis://c:6379/2"),
        ("amqp://guest@rabbit//", {"default": {"BACKEND": REDIS_CACHE,
                                               "LOCATION": ["redis://c1:6379/3"]}}, "redis://c1:6379/3"),
        ("filesystem://localhost/", LOCMEM, None),
        ("amqp://guest@rabbit//", LOCMEM, None),
    ],
)  # fmt: skip
def test_the_redis_check_is_registered_only_with_a_redis(
    settings: Any,
    project_celery_app: None,
    broker: str,
    caches: dict[str, Any],
    pinged: str | None,
) -> None:
    settings.CELERY_BROKER_URL = broker
    settings.CACHES = caches
    assert ("redis" in check_names()) is (pinged is not None)
    if pinged is not None:
        assert RedisCheck().url() == pinged


def test_a_redis_check_listed_by_hand_without_a_redis_says_what_to_set(
    settings: Any, project_celery_app: None
) -> None:
    settings.CELERY_BROKER_URL = "filesystem://localhost/"
    settings.CACHES = LOCMEM
    result = RedisCheck().run()
    assert result.status is Status.FAILING
    assert "no Redis to check" in result.reason and "OPTIONS url" in result.reason


def example_checks(**variables: str) -> list[str]:
    env = example_env(**variables)
    for name in ("NZILA_WEBSOCKET_URL", "DJANGO_CACHE_URL", "CELERY_BROKER_URL"):
        if name not in variables:
            env.pop(name, None)
    code = "import json; from nzila_ops.health import registry; "
    code += "print(json.dumps(registry.check_names()))"
    result = manage(env, "shell", "-c", code, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_example_project_registers_websocket_and_redis_only_when_it_has_them() -> None:
    demo = example_checks(CELERY_BROKER_URL="filesystem://localhost/")
    assert "websocket" not in demo and "redis" not in demo
    assert {"database", "cache", "payments_api", "admin_portal"} <= set(demo)
    full = example_checks(
        CELERY_BROKER_URL="redis://127.0.0.1:6379/8", NZILA_WEBSOCKET_URL="ws://127.0.0.1:8001/ws/"
    )
    assert set(full) - set(demo) == {"redis", "websocket"}


@pytest.mark.parametrize(
    ("app_broker", "pinged"),
    [("redis://app-conf:6379/5", "redis://app-conf:6379/5"), ("filesystem://localhost/", None)],
)
def test_the_health_check_and_task_metrics_agree_on_the_celery_apps_broker(
    settings: Any, app_broker: str, pinged: str | None
) -> None:
    """A broker set on the Celery app alone (CELERY_BROKER_URL unset, or another one) is the
    deployment's: the health check and the task metrics take the same Redis, or none."""
    from celery import Celery, current_app

    from nzila_ops.observability.metrics import celery_tracking

    app = Celery("nzila_broker_on_the_app", broker=app_broker, set_as_current=False)
    previous = current_app._get_current_object()
    app.set_current()
    try:
        del settings.CELERY_BROKER_URL
        settings.CACHES = LOCMEM
        settings.NZILA_OPS = {**settings.NZILA_OPS, "METRICS": {"REDIS_URL": None}}
        assert ("redis" in check_names()) is (pinged is not None)
        assert celery_tracking.redis_url() == pinged
        if pinged is not None:
            assert RedisCheck().url() == pinged
        # The app's broker wins over a different CELERY_BROKER_URL, in both.
        settings.CELERY_BROKER_URL = "redis://settings-only:6379/0"
        assert ("redis" in check_names()) is (pinged is not None)
        assert celery_tracking.redis_url() == pinged
    finally:
        previous.set_current()
