"""The state collector: metrics computed at each scrape from the catalog, Redis and the host.

``StateCollector()`` is registered in a per-scrape CollectorRegistry by the /ops/metrics view
(never in the multiprocess files). It reads the backup catalog with a few aggregate queries (one
per kind of row, never one per row), the Celery figures from Redis in one round trip, and the
business callables. Each part is guarded: when the database or Redis is down, that part's
metrics are left out and ``nzila_metrics_collector_up{part}`` is 0, and the scrape still
answers with everything else. A scrape during an outage is when metrics matter most.

Parts: ``catalog`` (backups, drills, components, incidents: the database), ``celery`` (queue
lengths, active tasks and outcomes: Redis), ``business`` (the host callables' machinery; each
callable has its own ``nzila_business_metric_up``).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import OuterRef, Q, Subquery
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from nzila_ops.conf import get_config
from nzila_ops.events import SEVERITIES

logger = logging.getLogger(__name__)

# "unknown": not sampled for longer than HEALTH_SAMPLE_GAP_SECONDS (the sampler has stopped).
STATUSES = ("ok", "warning", "failing", "unknown")
OUTCOMES = ("succeeded", "failed", "retried")
# Celery apps whose tasks modules were imported in this process.
_tasks_imported: weakref.WeakSet[Any] = weakref.WeakSet()


class StateCollector(Collector):
    """A prometheus_client collector; see the module docstring."""

    def describe(self) -> list[Metric]:
        # Registering must not run the queries (a registry with auto_describe calls collect()
        # when a collector has no describe()).
        return []

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily(
            "nzila_metrics_collector_up",
            "1 when this part of the scrape-time metrics could be read, 0 when it failed "
            "(its metrics are left out).",
            labels=["part"],
        )
        try:
            config = get_config()
        except Exception:
            logger.exception("metrics: NZILA_OPS settings are invalid")
            up.add_metric(["config"], 0.0)
            yield up
            return
        yield from _targets(config)
        for part, collect in (("catalog", _catalog), ("celery", _celery), ("business", _business)):
            metrics: list[Metric] = []
            try:
                ok = collect(config, metrics)
            except Exception:
                logger.exception("metrics: the %s part failed", part)
                ok = False
            up.add_metric([part], 1.0 if ok else 0.0)
            yield from metrics
        yield up
        yield GaugeMetricFamily(
            "nzila_metrics_scrape_duration_seconds",
            "How long the scrape-time (state) metrics took to collect.",
            value=time.perf_counter() - started,
        )


def _targets(config: dict[str, Any]) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "nzila_rpo_target_seconds",
        "Recovery point objective: the newest good backup should never be older.",
        value=float(config["RPO_TARGET_SECONDS"]),
    )
    yield GaugeMetricFamily(
        "nzila_rto_target_seconds",
        "Recovery time objective: a restore (and a drill) should take less.",
        value=float(config["RTO_TARGET_SECONDS"]),
    )


def _catalog(config: dict[str, Any], out: list[Metric]) -> bool:
    """Each group of queries guarded on its own, so that one failing query (a table not
    migrated yet) costs only its own metrics. A lost connection stops the others: each would
    wait for its own connection timeout."""
    aliases = list(config["BACKUP_DATABASES"])
    groups: list[Callable[[], list[Metric]]] = [
        lambda: _backups(aliases),
        lambda: _drills(aliases),
        _components,
        _incidents,
    ]
    ok = True
    for group in groups:
        # In autocommit (the scrape view's normal state) a failed query spoils nothing after
        # it, and a transaction would add two round trips per group; inside one (a host with
        # ATOMIC_REQUESTS) it would abort the rest without a savepoint.
        guard: AbstractContextManager[Any] = (
            transaction.atomic() if connection.in_atomic_block else nullcontext()
        )
        try:
            with guard:
                out.extend(group())
        except (OperationalError, InterfaceError):
            logger.exception("metrics: the database cannot be read")
            return False
        except DatabaseError:
            logger.exception("metrics: a catalog query failed")
            ok = False
    return ok


def _newest(model: Any, aliases: list[str], **filters: Any) -> list[dict[str, Any]]:
    """The newest row of each alias, in one query: one index lookup per alias, however long
    the history (rows are kept after their objects expire)."""
    if not aliases:
        return []
    match = Q()
    for alias in aliases:
        newest = (
            model.objects.filter(database_alias=alias, **filters)
            .order_by("-started_at", "-pk")
            .values("pk")[:1]
        )
        match |= Q(pk=Subquery(newest))
    return list(model.objects.filter(match).values())


def _backups(aliases: list[str]) -> list[Metric]:
    from nzila_ops.models import BackupRecord

    labels = ["database"]
    age = GaugeMetricFamily(
        "nzila_backup_age_seconds",
        "Seconds since the newest successful backup finished (+Inf when there is none).",
        labels=labels,
    )
    last = GaugeMetricFamily(
        "nzila_backup_last_success_timestamp_seconds",
        "When the newest successful backup finished (Unix time).",
        labels=labels,
    )
    duration = GaugeMetricFamily(
        "nzila_backup_duration_seconds",
        "How long the newest successful backup took.",
        labels=labels,
    )
    size = GaugeMetricFamily(
        "nzila_backup_size_bytes",
        "Bytes in storage of the newest successful backup.",
        labels=labels,
    )
    rows = _newest(BackupRecord, aliases, status=BackupRecord.Status.SUCCEEDED)
    found = {row["database_alias"]: row for row in rows}
    now = time.time()
    for alias in aliases:
        row = found.get(alias)
        if row is None:
            # No good backup at all is the worst age there is: an alert on the age fires.
            age.add_metric([alias], float("inf"))
            continue
        finished = row["finished_at"] or row["started_at"]
        age.add_metric([alias], max(0.0, now - finished.timestamp()))
        last.add_metric([alias], finished.timestamp())
        duration.add_metric([alias], (finished - row["started_at"]).total_seconds())
        if row["stored_size"] is not None:
            size.add_metric([alias], float(row["stored_size"]))
    return [age, last, duration, size]


def _drills(aliases: list[str]) -> list[Metric]:
    from nzila_ops.models import DrillRecord

    labels = ["database"]
    rto = GaugeMetricFamily(
        "nzila_drill_rto_seconds",
        "Recovery time measured by the latest drill (absent when it failed before verifying).",
        labels=labels,
    )
    last_run = GaugeMetricFamily(
        "nzila_drill_last_run_timestamp_seconds",
        "When the latest drill finished (Unix time).",
        labels=labels,
    )
    passed = GaugeMetricFamily(
        "nzila_drill_last_passed",
        "1 when the latest drill passed, 0 when it failed.",
        labels=labels,
    )
    for row in _newest(DrillRecord, aliases):
        alias = row["database_alias"]
        if row["rto_seconds"] is not None:
            rto.add_metric([alias], float(row["rto_seconds"]))
        last_run.add_metric([alias], row["finished_at"].timestamp())
        passed.add_metric([alias], 1.0 if row["result"] == DrillRecord.Result.PASSED else 0.0)
    return [rto, last_run, passed]


def _configured_checks() -> dict[str, bool] | None:
    """Check name -> critical, or None when the checks cannot be built (then every recorded
    component is exported, critical as its latest flip says)."""
    from nzila_ops.health.registry import get_checks

    try:
        return {check.name: bool(check.critical) for check in get_checks()}
    except Exception:
        logger.exception("metrics: the health checks cannot be built")
        return None


def _components() -> list[Metric]:
    from django.utils import timezone

    from nzila_ops.health.uptime import sample_gap
    from nzila_ops.models import ComponentFlip, ComponentState

    checks = _configured_checks()
    latest_flip = ComponentFlip.objects.filter(component=OuterRef("component")).order_by(
        "-at", "-id"
    )
    states = ComponentState.objects.annotate(
        flip_critical=Subquery(latest_flip.values("critical")[:1])
    )
    if checks is not None:
        # A check removed from the settings keeps its row; its frozen state is not current.
        states = states.filter(component__in=list(checks))
    up = GaugeMetricFamily(
        "nzila_component_up",
        "1 when the component's recorded health is ok or warning, 0 when failing; absent "
        "while it is unknown (not sampled for longer than HEALTH_SAMPLE_GAP_SECONDS).",
        labels=["component", "critical"],
    )
    status = GaugeMetricFamily(
        "nzila_component_status",
        "The component's recorded health, one-hot over ok, warning, failing and unknown (not "
        "sampled for longer than HEALTH_SAMPLE_GAP_SECONDS: the sampler has stopped).",
        labels=["component", "status"],
    )
    sampled = GaugeMetricFamily(
        "nzila_component_last_sampled_timestamp_seconds",
        "When the health sampler last recorded the component (Unix time): a stale value means "
        "the sampler (Celery beat or its worker) has stopped.",
        labels=["component"],
    )
    rows = states.values("component", "status", "last_sampled_at", "flip_critical")
    stale_before = timezone.now() - sample_gap()
    for row in rows.order_by("component"):
        name = row["component"]
        critical = checks[name] if checks is not None else bool(row["flip_critical"])
        # A state nobody has sampled lately is not current: neither up nor down.
        current = "unknown" if row["last_sampled_at"] < stale_before else row["status"]
        if current != "unknown":
            up.add_metric([name, "true" if critical else "false"], float(current != "failing"))
        for value in STATUSES:
            status.add_metric([name, value], float(current == value))
        sampled.add_metric([name], row["last_sampled_at"].timestamp())
    return [up, status, sampled]


def _incidents() -> list[Metric]:
    from django.db.models import Count

    from nzila_ops.models import Incident

    counts = dict(
        Incident.objects.filter(status__in=Incident.OPEN_STATUSES, is_drill=False)
        .values_list("severity")
        .annotate(n=Count("id"))
        .values_list("severity", "n")
    )
    family = GaugeMetricFamily(
        "nzila_incidents_open",
        "Open (triggered or acknowledged) incidents by severity; drills are not counted.",
        labels=["severity"],
    )
    for severity in SEVERITIES:
        family.add_metric([severity], float(counts.get(severity, 0)))
    return [family]


def _celery(config: dict[str, Any], out: list[Metric]) -> bool:
    from nzila_ops.observability.metrics.celery_tracking import (
        read_celery,
        redis_client,
        redis_url,
        warn_no_redis,
    )

    url = redis_url()
    if url is None:
        warn_no_redis()  # the part is down, said once, not a traceback at every scrape
        return False
    queues = list(config["METRICS"]["CELERY_QUEUES"])
    lengths, active, outcomes = read_celery(redis_client(url), queues)
    queue_length = GaugeMetricFamily(
        "nzila_celery_queue_length",
        "Messages waiting in the Celery queue (Redis LLEN, every priority).",
        labels=["queue"],
    )
    for queue in queues:
        queue_length.add_metric([queue], float(lengths[queue]))
    # Every known task has its series from the start, at 0: a sum or an increase() over them
    # then has data before the first task (or the first failure) anywhere.
    tasks = _registered_tasks() | set(active) | {task for task, _ in outcomes}
    tasks_active = GaugeMetricFamily(
        "nzila_celery_tasks_active", "Celery tasks running on any worker.", labels=["task"]
    )
    # The name without _total: the family adds it to its sample.
    tasks_total = CounterMetricFamily(
        "nzila_celery_tasks",
        "Celery tasks finished on any worker, by outcome (succeeded, failed, retried).",
        labels=["task", "outcome"],
    )
    for task in sorted(tasks):
        tasks_active.add_metric([task], float(active.get(task, 0)))
        for outcome in OUTCOMES:
            tasks_total.add_metric([task, outcome], float(outcomes.get((task, outcome), 0)))
    out.extend([queue_length, tasks_active, tasks_total])
    return True


def _registered_tasks() -> set[str]:
    """The host Celery app's own tasks (not Celery's built-in ``celery.*`` ones)."""
    from celery import current_app

    try:
        app = current_app._get_current_object()
        if app not in _tasks_imported:
            # What a worker does at start: the app's autodiscovered tasks modules are imported
            # then, not when a web process loads (once per process; imports are idempotent).
            app.loader.import_default_modules()
            _tasks_imported.add(app)
        return {name for name in app.tasks if not name.startswith("celery.")}
    except Exception:
        logger.exception("metrics: the Celery app's tasks cannot be listed")
        return set()


def _business(config: dict[str, Any], out: list[Metric]) -> bool:
    from nzila_ops.observability.metrics.business import collect_business

    out.extend(collect_business(config["METRICS"]))
    return True
