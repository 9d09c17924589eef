"""``init_sentry``: Sentry errors, traces and Crons for a host project, from its settings.

Called from the host's settings module, before Django is configured, so nothing here reads
settings; sentry_sdk and its integrations are imported only when a DSN is given (without one
this module costs an import of ``re``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from nzila_ops.exceptions import ConfigurationError

#: Transactions under these paths are never sampled: UptimeRobot, the load balancer and
#: Prometheus call them every few seconds, and each would cost a trace for nothing. Matched on a
#: segment boundary anywhere in the path, so a host that mounts nzila_ops.urls under a prefix
#: (``/internal/ops/health/``) is covered too.
QUIET_PATH = re.compile(r"(?:^|/)ops/(?:health|status|metrics)(?:[/.]|$)")
#: The same endpoints by view, for a transaction named in the ``function_name`` style
#: (``nzila_ops.health.views.live``, ``nzila_ops.sla.status_views.status_page``).
QUIET_VIEW = re.compile(r"^nzila_ops\.(?:\w+\.)*(?:health|status|metrics)\w*(?:\.|$)")

DEFAULT_TRACES_SAMPLE_RATE = 0.1
MAX_BREADCRUMBS = 50
#: The plan's slow-query threshold: SQL spans at least this long carry their source location.
SLOW_QUERY_MS = 100

Hook = Callable[[Any, Any], Any]


def init_sentry(
    dsn: str | None = None,
    *,
    environment: str | None = None,
    release: str | None = None,
    traces_sample_rate: float = DEFAULT_TRACES_SAMPLE_RATE,
    send_sql_params: bool = False,
    monitor_beat_tasks: bool = True,
    **options: Any,
) -> bool:
    """Start the Sentry SDK for this process; True if it was started, False without a DSN.

    ``dsn``: the project's DSN; None or blank turns Sentry off (no SDK is imported or started).
    ``environment`` and ``release`` label every event (None: the SDK reads SENTRY_ENVIRONMENT
    and SENTRY_RELEASE). ``traces_sample_rate`` (0..1, default 0.1) is the share of requests
    and tasks traced; health, status and metrics endpoints are never traced, and a trace
    begun upstream keeps its upstream decision. ``send_sql_params`` records the parameters of
    SQL queries on spans and breadcrumbs: off by default, since they hold personal data.
    ``monitor_beat_tasks`` reports every Celery beat entry as a Sentry Crons monitor.

    Other keyword ``options`` go to ``sentry_sdk.init`` over these defaults; a
    ``before_send``, ``before_send_transaction`` or ``before_breadcrumb`` given there runs
    first and its result is then scrubbed. Bad arguments raise ConfigurationError (one line).
    """
    if dsn is not None and not isinstance(dsn, str):
        raise ConfigurationError(f"Sentry DSN must be a string, not {type(dsn).__name__}")
    dsn = (dsn or "").strip()
    _check_rate(traces_sample_rate)
    for name, value in (("environment", environment), ("release", release)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigurationError(f"Sentry {name} must be a non-empty string or None")
    for name, flag in (
        ("send_sql_params", send_sql_params),
        ("monitor_beat_tasks", monitor_beat_tasks),
    ):
        if not isinstance(flag, bool):
            raise ConfigurationError(f"init_sentry's {name} must be True or False")
    if not dsn:
        return False

    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.redis import RedisIntegration
    from sentry_sdk.utils import BadDsn, Dsn

    try:
        Dsn(dsn)
    except BadDsn as exc:
        # The reason (scheme, host, key, project) without the DSN, whose key is a credential.
        raise ConfigurationError(
            f"Sentry DSN is malformed ({exc}); expected https://<key>@<host>/<project id>"
        ) from None

    # Here, not at the top: this module is imported by every host's settings (every manage.py
    # command), and the scrubber's patterns are only needed when Sentry is on (issue 16).
    from nzila_ops.observability import scrub

    hooks = {
        "before_send": scrub.before_send,
        "before_send_transaction": scrub.before_send_transaction,
        "before_breadcrumb": scrub.before_breadcrumb,
    }
    for name, ours in hooks.items():
        theirs = options.pop(name, None)
        if theirs is not None:
            hooks[name] = _then_scrub(theirs, ours)
    experiments = {**options.pop("_experiments", {}), "record_sql_params": send_sql_params}

    settings: dict[str, Any] = {
        "dsn": dsn,
        "environment": environment,
        "release": release,
        "integrations": [
            DjangoIntegration(transaction_style="url", middleware_spans=False),
            CeleryIntegration(monitor_beat_tasks=monitor_beat_tasks, propagate_traces=True),
            RedisIntegration(),
            LoggingIntegration(),
        ],
        "traces_sampler": traces_sampler(traces_sample_rate),
        "max_breadcrumbs": MAX_BREADCRUMBS,
        "ignore_errors": [KeyboardInterrupt, BrokenPipeError],
        "enable_db_query_source": True,
        "db_query_source_threshold_ms": SLOW_QUERY_MS,
        # sentry-sdk 2.x's switch for SQL parameters on spans and query breadcrumbs when
        # send_default_pii and data_collection are left unset (they are: unset means off, and
        # sentry-sdk 2.75 deprecates passing send_default_pii at all).
        "_experiments": experiments,
        **hooks,
        **options,
    }
    sentry_sdk.init(**settings)
    return True


def traces_sampler(rate: float) -> Callable[[Mapping[str, Any]], float]:
    """The ``traces_sampler``: 0 for the quiet endpoints, the parent's decision when a trace
    came with one, else ``rate``."""
    _check_rate(rate)

    def sample(context: Mapping[str, Any]) -> float:
        if is_quiet(context):
            return 0.0
        parent = context.get("parent_sampled")
        if parent is not None:
            return 1.0 if parent else 0.0
        return rate

    return sample


def is_quiet(context: Mapping[str, Any]) -> bool:
    """Whether a sampling context is a request to a health, status or metrics endpoint, by its
    WSGI path, ASGI path or transaction name (route or view)."""
    paths = []
    environ = context.get("wsgi_environ")
    if isinstance(environ, Mapping):
        paths.append(f"{environ.get('SCRIPT_NAME') or ''}{environ.get('PATH_INFO') or ''}")
    scope = context.get("asgi_scope")
    if isinstance(scope, Mapping):
        paths.append(f"{scope.get('root_path') or ''}{scope.get('path') or ''}")
    transaction = context.get("transaction_context")
    name = transaction.get("name") if isinstance(transaction, Mapping) else None
    if isinstance(name, str):
        if QUIET_VIEW.search(name):
            return True
        paths.append(name)
    return any(isinstance(path, str) and QUIET_PATH.search(path) for path in paths)


def _check_rate(rate: object) -> None:
    if (
        isinstance(rate, bool)
        or not isinstance(rate, (int, float))
        or math.isnan(rate)
        or not 0 <= rate <= 1
    ):
        raise ConfigurationError(
            f"Sentry traces sample rate must be a number from 0 to 1, not {rate!r}"
        )


def _then_scrub(theirs: Hook, ours: Hook) -> Hook:
    def hook(item: Any, hint: Any) -> Any:
        item = theirs(item, hint)
        return None if item is None else ours(item, hint)

    return hook
