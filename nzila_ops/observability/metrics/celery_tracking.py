"""Celery task outcomes and active tasks, kept in Redis so that any web host can export them.

Workers run on other hosts than the one Prometheus scrapes, so the figures live in Redis
(METRICS['REDIS_URL'], by default the Celery broker's when it is Redis; with neither, nothing
is recorded and a WARNING says so once per process):

- ``nzila_ops:metrics:celery:outcomes``: a hash, field ``<task>\\0<outcome>`` (succeeded,
  failed, retried) -> count, incremented by the signal receivers below;
- ``nzila_ops:metrics:celery:active``: a sorted set, member ``<task>\\0<task id>``, scored by the
  time after which the entry no longer counts. A worker killed with SIGKILL never sends
  task_postrun: its tasks would stay "active" for ever, so each entry has a deadline (the task's
  hard time limit plus a minute, or METRICS['CELERY_ACTIVE_TTL_SECONDS']) and entries past it
  are ignored by readers and removed by the next task to start.

A receiver never fails the task: a Redis error is logged, and Redis is then left alone for
``BACKOFF_SECONDS`` so that an outage does not add a connection timeout to every task. Tasks run
eagerly (CELERY_TASK_ALWAYS_EAGER, ``Task.apply``) run inside their caller, not on a worker, and
are not counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from celery import signals

from nzila_ops.conf import get_config
from nzila_ops.redis_urls import broker_redis_url

logger = logging.getLogger(__name__)

OUTCOMES_KEY = "nzila_ops:metrics:celery:outcomes"
ACTIVE_KEY = "nzila_ops:metrics:celery:active"
SEP = "\0"
# Short: a receiver runs inside the task, a reader inside the scrape.
REDIS_TIMEOUT_SECONDS = 1.0
BACKOFF_SECONDS = 30.0
# After a hard time limit the worker's main process reports the failure itself; the grace
# covers the time it takes to notice.
TIME_LIMIT_GRACE_SECONDS = 60
# Kombu's Redis transport keeps a queue's messages of priority n in "<queue>\x06\x16<n>" for
# each step but 0 (kombu.transport.redis: Channel.sep, PRIORITY_STEPS).
KOMBU_SEP = "\x06\x16"
KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()
_backoff_until = 0.0
# Task ids started in this process (prerun seen) -> (member, outcome noted so far). Their
# outcome is written with the removal from the active set, in one round trip, at postrun.
_running: dict[str, list[Any]] = {}
_running_lock = threading.Lock()
# Task ids whose outcome the worker's main process has written (under _running_lock).
_reported: OrderedDict[str, None] = OrderedDict()
REPORTED_KEPT = 1000


NO_REDIS = (
    "Celery task metrics are not recorded: the Celery broker is not Redis and "
    "NZILA_OPS['METRICS']['REDIS_URL'] is not set (docs/metrics.md)"
)
_warned_no_redis = False


def redis_url() -> str | None:
    """METRICS['REDIS_URL'], else the Celery broker's URL when it is a Redis one; None when
    there is no Redis to use."""
    url = get_config()["METRICS"]["REDIS_URL"]
    if url:
        return str(url)
    return broker_redis_url()


def warn_no_redis() -> None:
    """Say once per process that there is no Redis: not an error at every task (or scrape)
    with a traceback, which buried real errors in the demo's worker log."""
    global _warned_no_redis
    if not _warned_no_redis:
        _warned_no_redis = True
        logger.warning(NO_REDIS)


def redis_client(url: str | None = None) -> Any:
    """A client with short socket timeouts, kept per URL (redis-py reconnects after a fork)."""
    import redis

    url = url or redis_url()
    if url is None:
        raise RuntimeError(NO_REDIS)
    with _clients_lock:
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(
                url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
        return _clients[url]


Commands = list[tuple[str, tuple[Any, ...]]]


def _write(commands: Commands | Callable[[], Commands]) -> None:
    """Send the commands in one pipeline; log a failure, never raise. Commands whose making
    reads the settings are given as a function, called inside the same guard."""
    global _backoff_until
    if time.monotonic() < _backoff_until:
        return
    try:
        # Inside the try: they read the settings, and a bad one must not fail the task either.
        url = redis_url()
        if url is None:
            warn_no_redis()
            return
        if callable(commands):
            commands = commands()
        pipe = redis_client(url).pipeline(transaction=False)
        for name, args in commands:
            getattr(pipe, name)(*args)
        pipe.execute()
    except Exception:
        _backoff_until = time.monotonic() + BACKOFF_SECONDS
        logger.exception(
            "Celery task metrics not recorded in Redis; next try in %.0f s", BACKOFF_SECONDS
        )


def _is_eager(task: Any) -> bool:
    request = getattr(task, "request", None)
    return bool(getattr(request, "is_eager", False))


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or sender or "unknown")


def _deadline(task: Any, now: float) -> float:
    limit = getattr(task, "time_limit", None)
    if limit is None:
        app = getattr(task, "app", None)
        limit = getattr(getattr(app, "conf", None), "task_time_limit", None)
    if limit:
        return now + float(limit) + TIME_LIMIT_GRACE_SECONDS
    return now + float(get_config()["METRICS"]["CELERY_ACTIVE_TTL_SECONDS"])


@signals.task_prerun.connect(dispatch_uid="nzila_ops.metrics.task_prerun")
def task_started(sender: Any = None, task_id: str | None = None, task: Any = None,
                 **kwargs: Any) -> None:  # fmt: skip
    task = task or sender
    if task is None or task_id is None or _is_eager(task):
        return
    now = time.time()
    member = f"{_task_name(task)}{SEP}{task_id}"
    with _running_lock:
        _running[task_id] = [member, None]
    _write(lambda: [("zadd", (ACTIVE_KEY, {member: _deadline(task, now)})),
                    ("zremrangebyscore", (ACTIVE_KEY, "-inf", now))])  # fmt: skip


def _note(task: Any, task_id: str | None, outcome: str) -> None:
    if task is None or task_id is None or _is_eager(task):
        return
    with _running_lock:
        running = _running.get(task_id)
        if running is not None:
            running[1] = outcome
            return
        # Not started in this process: a hard time limit or a lost pool process, reported by
        # the worker's main process. No postrun follows here. Celery reports a hard time limit
        # twice there (on_timeout, then the killed process's on_failure): counted once.
        if task_id in _reported:
            return
        _reported[task_id] = None
        if len(_reported) > REPORTED_KEPT:
            _reported.popitem(last=False)
    member = f"{_task_name(task)}{SEP}{task_id}"
    _write([("hincrby", (OUTCOMES_KEY, f"{_task_name(task)}{SEP}{outcome}", 1)),
            ("zrem", (ACTIVE_KEY, member))])  # fmt: skip


@signals.task_success.connect(dispatch_uid="nzila_ops.metrics.task_success")
def task_succeeded(sender: Any = None, **kwargs: Any) -> None:
    request = getattr(sender, "request", None)
    _note(sender, getattr(request, "id", None), "succeeded")


@signals.task_failure.connect(dispatch_uid="nzila_ops.metrics.task_failure")
def task_failed(sender: Any = None, task_id: str | None = None, **kwargs: Any) -> None:
    _note(sender, task_id, "failed")


@signals.task_retry.connect(dispatch_uid="nzila_ops.metrics.task_retry")
def task_retried(sender: Any = None, request: Any = None, **kwargs: Any) -> None:
    _note(sender, getattr(request, "id", None), "retried")


@signals.task_postrun.connect(dispatch_uid="nzila_ops.metrics.task_postrun")
def task_finished(sender: Any = None, task_id: str | None = None, task: Any = None,
                  **kwargs: Any) -> None:  # fmt: skip
    with _running_lock:
        running = _running.pop(task_id, None) if task_id else None
    if running is None:
        return
    member, outcome = running
    commands: Commands = [("zrem", (ACTIVE_KEY, member))]
    if outcome is not None:
        name = member.split(SEP, 1)[0]
        commands.append(("hincrby", (OUTCOMES_KEY, f"{name}{SEP}{outcome}", 1)))
    _write(commands)


def read_celery(client: Any, queues: list[str]) -> tuple[dict[str, int], dict[str, int],
                                                         dict[tuple[str, str], int]]:  # fmt: skip
    """(queue lengths, active tasks by name, outcomes by (task, outcome)) in one round trip.

    Raises what redis-py raises: the caller drops these metrics and reports the part down."""
    prefix, sep, steps = _broker_layout()
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for step in steps:
            pipe.llen(f"{prefix}{queue}{sep}{step}" if step else f"{prefix}{queue}")
    pipe.zrangebyscore(ACTIVE_KEY, f"({time.time()}", "+inf")
    pipe.hgetall(OUTCOMES_KEY)
    replies = pipe.execute()
    n = len(steps)
    lengths = {q: sum(replies[i * n : (i + 1) * n]) for i, q in enumerate(queues)}
    active: dict[str, int] = {}
    for member in replies[-2]:
        name = _text(member).split(SEP, 1)[0]
        active[name] = active.get(name, 0) + 1
    outcomes: dict[tuple[str, str], int] = {}
    for field, count in replies[-1].items():
        name, _, outcome = _text(field).rpartition(SEP)
        outcomes[(name, outcome)] = int(count)
    return lengths, active, outcomes


def _broker_layout() -> tuple[str, str, tuple[int, ...]]:
    """The key prefix, priority separator and steps of the Celery app's Redis transport."""
    from celery import current_app

    options = current_app.conf.broker_transport_options or {}
    steps = tuple(sorted({0, *options.get("priority_steps", KOMBU_PRIORITY_STEPS)}))
    return options.get("global_keyprefix", ""), options.get("sep", KOMBU_SEP), steps


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def forget_backoff() -> None:
    """Try Redis at the next event (tests, and an operator who has just fixed Redis); a
    missing Redis is told again."""
    global _backoff_until, _warned_no_redis
    _backoff_until = 0.0
    _warned_no_redis = False
