"""System check W006: the restore page's progress needs a cache the workers share."""

from __future__ import annotations

from typing import Any

import pytest
from celery import current_app

from nzila_ops.checks import check_restore_progress_cache


@pytest.fixture
def on_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks run on Celery workers, as in production (the suite runs them eagerly)."""
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)


def ids() -> list[str]:
    return [message.id for message in check_restore_progress_cache()]


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
        "nzila_ops.observability.metrics.cache.LocMemCache",  # the example project's
    ],
)
def test_a_process_local_cache_is_warned_about_when_tasks_run_on_workers(
    settings: Any, on_workers: None, backend: str
) -> None:
    settings.CACHES = {"default": {"BACKEND": backend}}
    assert ids() == ["nzila_ops.W006"]


def test_a_shared_cache_or_eager_tasks_are_fine(
    settings: Any, redis_cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    assert ids() == []
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)
    assert ids() == []
