"""Celery task outcomes and active tasks, recorded in Redis by a real worker's signals and
exported by the state collector; queue lengths as Redis holds them."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from celery import Celery
from celery.contrib.testing.worker import start_worker
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from nzila_ops.observability.metrics import celery_tracking
from tests.observability.metrics_scrape import (
    REDIS_URL,
    key,
    redis_db_11,
    scrape,
    scrape_in_thread,
    set_metrics,
)
from tests.support.s3 import free_port

pytestmark = pytest.mark.django_db

# No Django fixup: it closes the database connections the test's own transaction runs on.
app = Celery(
    "nzila_metrics_tests", broker=REDIS_URL, backend=REDIS_URL, set_as_current=False, fixups=[]
)
# Its embedded worker must leave the test process's logging alone.
app.conf.update(
    task_always_eager=False,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
release = threading.Event()


@app.task(name="tests.metrics.add")
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="tests.metrics.boom")
def boom() -> None:
    raise ValueError("boom")


@app.task(bind=True, name="tests.metrics.flaky", max_retries=1)
def flaky(self: Any) -> str:
    if not self.request.retries:
        raise self.retry(countdown=0)
    return "second time lucky"


@app.task(name="tests.metrics.blocked")
def blocked() -> None:
    release.wait(30)


@app.task(name="tests.metrics.limited", time_limit=30)
def limited() -> None:
    pass


@pytest.fixture
def metrics_redis(settings: Any) -> Iterator[Any]:
    yield from redis_db_11(settings)


@pytest.fixture
def worker(metrics_redis: Any) -> Iterator[Any]:
    from celery import _state

    release.clear()
    # start_worker makes its app the current and default one, for good: the project's app
    # (eager, in the test settings) must be current again for the tests that follow.
    before = _state.default_app, _state._tls.current_app
    # It also sets the root logger's level to its loglevel (ERROR): the tests that follow would
    # see no WARNING record (caplog, Sentry's breadcrumbs).
    root_level = logging.getLogger().level
    try:
        with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
            yield metrics_redis
    finally:
        release.set()
        _state.default_app, _state._tls.current_app = before
        logging.getLogger().setLevel(root_level)


def eventually(check: Callable[[], bool], seconds: float = 15) -> None:
    """Wait for what the worker records after the result is stored (task_postrun)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not seen in time")
        time.sleep(0.05)


def total(task: str, outcome: str) -> float | None:
    return scrape().get(key("nzila_celery_tasks_total", task=task, outcome=outcome))


def test_outcomes_of_real_task_runs_are_counted(worker: Any) -> None:
    assert add.delay(1, 2).get(timeout=15) == 3
    assert add.delay(2, 2).get(timeout=15) == 4
    boom.delay().get(timeout=15, propagate=False)
    assert flaky.delay().get(timeout=15) == "second time lucky"
    eventually(lambda: total("tests.metrics.flaky", "succeeded") == 1)
    samples = scrape()
    assert (
        samples[key("nzila_celery_tasks_total", task="tests.metrics.add", outcome="succeeded")] == 2
    )
    assert (
        samples[key("nzila_celery_tasks_total", task="tests.metrics.boom", outcome="failed")] == 1
    )
    assert (
        samples[key("nzila_celery_tasks_total", task="tests.metrics.flaky", outcome="retried")] == 1
    )
    assert samples[key("nzila_celery_tasks_total", task="tests.metrics.add", outcome="failed")] == 0
    assert {v for k, v in samples.items() if k[0] == "nzila_celery_tasks_active"} == {0}


def test_a_running_task_is_active_until_it_ends(worker: Any) -> None:
    result = blocked.delay()
    active = key("nzila_celery_tasks_active", task="tests.metrics.blocked")
    eventually(lambda: scrape().get(active) == 1)
    release.set()
    result.get(timeout=15)
    eventually(lambda: scrape()[active] == 0)
    assert total("tests.metrics.blocked", "succeeded") == 1


def test_an_active_entry_expires_when_its_worker_never_reports(metrics_redis: Any) -> None:
    # A worker SIGKILLed mid-task sends nothing more: only prerun was recorded.
    celery_tracking.task_started(sender=add, task_id="killed-1", task=add)
    active = key("nzila_celery_tasks_active", task="tests.metrics.add")
    assert scrape()[active] == 1
    with time_machine.travel(time.time() + 3601, tick=False):
        # 0, or no series at all: a task the host's app does not define and that never ended
        # has no zero series (which one shows depends on what earlier tests left recorded).
        assert scrape().get(active, 0) == 0
        # The next task to start removes it from Redis too.
        celery_tracking.task_started(sender=boom, task_id="next-1", task=boom)
    assert metrics_redis.zrange(celery_tracking.ACTIVE_KEY, 0, -1) == [
        b"tests.metrics.boom\0next-1"
    ]


def test_a_task_with_a_time_limit_is_active_for_that_long_plus_a_minute(
    metrics_redis: Any, settings: Any
) -> None:
    set_metrics(settings, CELERY_ACTIVE_TTL_SECONDS=10)
    with time_machine.travel(1_800_000_000, tick=False):
        celery_tracking.task_started(sender=limited, task_id="l-1", task=limited)
        celery_tracking.task_started(sender=add, task_id="a-1", task=add)
    scores = dict(metrics_redis.zrange(celery_tracking.ACTIVE_KEY, 0, -1, withscores=True))
    assert scores == {
        b"tests.metrics.limited\0l-1": 1_800_000_000 + 30 + 60,
        b"tests.metrics.add\0a-1": 1_800_000_000 + 10,
    }


def test_a_failure_reported_by_the_workers_main_process_ends_the_task(metrics_redis: Any) -> None:
    # A hard time limit or a lost pool process: the child that ran prerun is gone, and the
    # main process sends task_failure with no postrun after it.
    celery_tracking.task_started(sender=add, task_id="lost-1", task=add)
    celery_tracking._running.clear()  # what the killed child knew
    celery_tracking.task_failed(sender=add, task_id="lost-1")
    celery_tracking.task_failed(sender=add, task_id="lost-1")  # a hard time limit: twice
    samples = scrape()
    assert samples[key("nzila_celery_tasks_total", task="tests.metrics.add", outcome="failed")] == 1
    assert samples[key("nzila_celery_tasks_active", task="tests.metrics.add")] == 0


def test_tasks_run_eagerly_are_not_counted(metrics_redis: Any) -> None:
    add.apply((1, 1))
    boom.apply()
    assert metrics_redis.keys("nzila_ops:*") == []


def test_redis_down_never_fails_a_task_and_is_tried_again_later(
    worker: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    set_metrics(settings, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.ERROR, logger=celery_tracking.__name__):
        assert add.delay(3, 4).get(timeout=15) == 7
        assert add.delay(5, 6).get(timeout=15) == 11
    failures = [r for r in caplog.records if "not recorded in Redis" in r.getMessage()]
    # Once, then left alone: an outage must not add a connection timeout to every task.
    assert len(failures) == 1
    samples = scrape()
    assert samples[key("nzila_metrics_collector_up", part="celery")] == 0
    assert not [k for k in samples if k[0].startswith("nzila_celery_")]
    assert samples[key("nzila_metrics_collector_up", part="catalog")] == 1


def test_a_settings_error_never_fails_a_task(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding where to write reads the settings: an error there is logged like a Redis
    error, not raised out of the task's signal receivers."""
    from nzila_ops.exceptions import ConfigurationError

    settings.NZILA_OPS = {**settings.NZILA_OPS, "METRICS": {"REDIS_URL": 6379}}
    celery_tracking.forget_backoff()
    try:
        with caplog.at_level(logging.ERROR, logger=celery_tracking.__name__):
            celery_tracking.task_started(sender=add, task_id="bad-settings", task=add)
            celery_tracking.task_failed(sender=add, task_id="bad-settings")
            celery_tracking.task_finished(sender=add, task_id="bad-settings", task=add)
    finally:
        celery_tracking.forget_backoff()
    failures = [r for r in caplog.records if "not recorded in Redis" in r.getMessage()]
    assert len(failures) == 1  # then left alone for BACKOFF_SECONDS, as for a Redis error
    assert failures[0].exc_info is not None
    assert failures[0].exc_info[0] is ConfigurationError


def test_queue_length_counts_every_priority_list_of_each_queue(
    metrics_redis: Any, settings: Any
) -> None:
    set_metrics(settings, CELERY_QUEUES=["celery", "exports"])
    metrics_redis.lpush("celery", "m1", "m2", "m3")
    # Kombu's Redis transport keeps higher-numbered priorities in lists of their own.
    metrics_redis.lpush("celery\x06\x163", "m4", "m5")
    metrics_redis.lpush("celery\x06\x169", "m6")
    metrics_redis.lpush("other", "not configured")
    samples = scrape()
    lengths = {k[1]: v for k, v in samples.items() if k[0] == "nzila_celery_queue_length"}
    assert lengths == {(("queue", "celery"),): 6, (("queue", "exports"),): 0}


def test_every_task_of_the_project_has_its_series_at_0_before_any_run(metrics_redis: Any) -> None:
    # Sums and increase() over them have data from the first scrape (the dashboard's panel).
    samples = scrape()
    task = "nzila_ops.backup_database"
    assert samples[key("nzila_celery_tasks_active", task=task)] == 0
    for outcome in ("succeeded", "failed", "retried"):
        assert samples[key("nzila_celery_tasks_total", task=task, outcome=outcome)] == 0
    assert not [k for k in samples if dict(k[1]).get("task", "").startswith("celery.")]


@pytest.mark.slow
def test_a_real_prefork_worker_records_across_processes_even_when_its_pool_process_dies(
    metrics_redis: Any,
) -> None:
    import subprocess
    import sys

    from celery.exceptions import TimeLimitExceeded, WorkerLostError

    from tests.support.host import REPO

    env = {**os.environ, "PYTHONPATH": f"{REPO}:{REPO / 'example_project'}",
           "NZILA_METRICS_TEST_BROKER": REDIS_URL}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.observability.celery_worker_app", "worker",
         "-P", "prefork", "-c", "1", "--without-mingle", "--without-gossip",
         "--loglevel", "WARNING"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    client = Celery(broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
    try:
        deadline = time.monotonic() + 60
        while not client.control.ping(timeout=0.5):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the worker never answered a ping"
        assert client.send_task("tests.worker.ok").get(timeout=30) == "done"
        with pytest.raises(TimeLimitExceeded):
            client.send_task("tests.worker.overrun").get(timeout=30)
        with pytest.raises(WorkerLostError):
            client.send_task("tests.worker.crash").get(timeout=30)
        eventually(lambda: total("tests.worker.crash", "failed") == 1, seconds=30)
    finally:
        process.terminate()
        process.wait(timeout=30)
    samples = scrape()
    assert (
        samples[key("nzila_celery_tasks_total", task="tests.worker.ok", outcome="succeeded")] == 1
    )
    # Once each: Celery reports a hard time limit twice in the main process.
    for task in ("tests.worker.overrun", "tests.worker.crash"):
        assert samples[key("nzila_celery_tasks_total", task=task, outcome="failed")] == 1
        assert samples[key("nzila_celery_tasks_active", task=task)] == 0


@settings_hypothesis(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    outcomes=st.dictionaries(st.binary(max_size=30), st.integers(0, 2**40), max_size=5),
    active=st.lists(st.binary(max_size=30), max_size=5),
)
def test_whatever_redis_holds_the_scrape_answers_and_parses(
    metrics_redis: Any, outcomes: dict[bytes, int], active: list[bytes]
) -> None:
    # The figures cross a process boundary: another version of the app, or a hand, may have
    # written them.
    metrics_redis.flushdb()
    if outcomes:
        metrics_redis.hset(celery_tracking.OUTCOMES_KEY, mapping=outcomes)
    if active:
        metrics_redis.zadd(celery_tracking.ACTIVE_KEY, {m: time.time() + 60 for m in active})
    samples = scrape()  # parsed back as Prometheus reads it
    assert samples[key("nzila_metrics_collector_up", part="celery")] == 1
    assert sum(v for k, v in samples.items() if k[0] == "nzila_celery_tasks_active") == len(
        set(active)
    )


def test_a_frozen_redis_costs_the_scrape_one_socket_timeout_and_only_the_celery_part(
    metrics_redis: Any, settings: Any
) -> None:
    from tests.support.redis_server import PrivateRedis

    private = PrivateRedis()
    try:
        set_metrics(settings, REDIS_URL=private.url)
        assert scrape()[key("nzila_metrics_collector_up", part="celery")] == 1
        with private.stopped():  # accepts nothing, answers nothing
            # A liveness bound, far above the 1 s socket timeout.
            samples = scrape_in_thread(20)
        assert samples is not None
        assert samples[key("nzila_metrics_collector_up", part="celery")] == 0
        assert samples[key("nzila_metrics_collector_up", part="catalog")] == 1
        assert samples[key("nzila_incidents_open", severity="P0")] == 0
    finally:
        private.close()


@pytest.mark.parametrize(
    "metrics",
    [{"REDIS_URL": "amqp://guest@localhost//"}, {"REDIS_URL": 6379}, {"REDIS_URL": ""},
     {"CELERY_ACTIVE_TTL_SECONDS": 0}, {"CELERY_ACTIVE_TTL_SECONDS": True},
     {"CELERY_ACTIVE_TTL_SECONDS": "3600"}, {"CELERY_ACTIVE_TTL_SECONDS": 10**9}],
)  # fmt: skip
def test_bad_redis_url_or_active_ttl_is_refused_in_one_line(settings: Any, metrics: Any) -> None:
    from nzila_ops.conf import get_config
    from nzila_ops.exceptions import ConfigurationError

    settings.NZILA_OPS = {**settings.NZILA_OPS, "METRICS": metrics}
    with pytest.raises(ConfigurationError) as refused:
        get_config()
    assert "\n" not in str(refused.value)
    assert next(iter(metrics)) in str(refused.value)


def test_redis_url_defaults_to_the_celery_brokers(settings: Any) -> None:
    from celery import current_app

    settings.NZILA_OPS = {**settings.NZILA_OPS, "METRICS": {"REDIS_URL": None}}
    assert celery_tracking.redis_url() == current_app.conf.broker_url
    settings.NZILA_OPS = {**settings.NZILA_OPS, "METRICS": {"REDIS_URL": "rediss://r:6380/2"}}
    assert celery_tracking.redis_url() == "rediss://r:6380/2"


def test_without_a_redis_tasks_are_not_tracked_and_it_is_said_once(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """`make demo`'s broker is kombu's filesystem transport: there is no Redis to keep the
    figures in. Each task logged an ERROR with a ValueError traceback (the broker URL taken
    as a Redis URL); now one WARNING per process, and the scrape's celery part is down
    without a traceback."""
    from nzila_ops.observability.metrics.state import StateCollector

    demo = Celery("nzila_demo_like", broker="filesystem://localhost/", set_as_current=False)

    @demo.task(name="tests.metrics.noop")
    def noop() -> None:
        pass

    from celery import current_app

    previous = current_app._get_current_object()
    settings.NZILA_OPS = {**settings.NZILA_OPS, "METRICS": {"REDIS_URL": None}}
    demo.set_current()
    try:
        assert celery_tracking.redis_url() is None
        celery_tracking.forget_backoff()
        with caplog.at_level(logging.WARNING, logger="nzila_ops"):
            for task_id in ("t1", "t2", "t3"):
                celery_tracking.task_started(sender=noop, task_id=task_id, task=noop)
                celery_tracking.task_failed(sender=noop, task_id=task_id)
                celery_tracking.task_finished(sender=noop, task_id=task_id, task=noop)
            up = {
                sample.labels["part"]: sample.value
                for family in StateCollector().collect()
                if family.name == "nzila_metrics_collector_up"
                for sample in family.samples
            }
        assert up["celery"] == 0.0
        logged = [(r.levelname, r.getMessage()) for r in caplog.records]
        assert logged == [("WARNING", celery_tracking.NO_REDIS)]
        assert not any(r.exc_info for r in caplog.records)
        # A Redis set for the figures is used, whatever the broker.
        settings.NZILA_OPS = {**settings.NZILA_OPS, "METRICS": {"REDIS_URL": REDIS_URL}}
        assert celery_tracking.redis_url() == REDIS_URL
    finally:
        previous.set_current()
        celery_tracking.forget_backoff()
