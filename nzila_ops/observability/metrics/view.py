"""/ops/metrics: the Prometheus text format (docs/metrics.md).

One scrape serves two kinds of metrics:

- request-side (instruments.py): under gunicorn with PROMETHEUS_MULTIPROC_DIR set, read from
  every worker's files and summed (multiprocess.py); otherwise this process's own.
- scrape-time state (state.py's StateCollector): computed now from the catalog, Redis and the
  host's callables, in a registry made for this scrape and never written to the multiprocess
  files, so every worker answers with the same current state.

GET and HEAD only, never cached; access as access.py says.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.registry import Collector

from nzila_ops.exceptions import ConfigurationError
from nzila_ops.observability.metrics import instruments
from nzila_ops.observability.metrics.access import refusal
from nzila_ops.observability.metrics.exposition import render
from nzila_ops.observability.metrics.multiprocess import FilesCollector

READ_METHODS = ("GET", "HEAD")
MISCONFIGURED = "metrics misconfigured: run manage.py check\n"
logger = logging.getLogger("nzila_ops.metrics")
STATE_MODULE = "nzila_ops.observability.metrics.state"


class RequestSideCollector(Collector):
    """This process's request-side instruments (those of the default REGISTRY that are ours)."""

    def collect(self) -> Iterator[Any]:
        for instrument in instruments.ALL:
            yield from instrument.collect()


def state_collector() -> Collector | None:
    """A new StateCollector, or None while the state module is not installed."""
    try:
        from nzila_ops.observability.metrics.state import StateCollector
    except ModuleNotFoundError as exc:
        if exc.name != STATE_MODULE:
            raise  # the module exists and an import of its own failed: loud
        return None
    collector: Collector = StateCollector()
    return collector


def scrape_registry() -> CollectorRegistry:
    """The registry one scrape reads: request side plus state."""
    registry = CollectorRegistry(auto_describe=False)
    multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc_dir:
        registry.register(FilesCollector(multiproc_dir))
    else:
        registry.register(RequestSideCollector())
    state = state_collector()
    if state is not None:
        registry.register(state)
    return registry


@csrf_exempt
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Serve the metrics to a scraper allowed by access.refusal."""
    # Access first: an endpoint that is off answers 404 to every method.
    try:
        refused = refusal(request)
    except ConfigurationError as exc:
        # System check E001 says so at deploy time; the scraper gets one line, the log the why.
        logger.error("metrics misconfigured: %s", exc)
        return HttpResponse(MISCONFIGURED, status=503, content_type="text/plain; charset=utf-8")
    if refused is not None:
        return refused
    if request.method not in READ_METHODS:
        response = HttpResponse("method not allowed\n", status=405, content_type="text/plain")
        response["Allow"] = ", ".join(READ_METHODS)
        return response
    return HttpResponse(render(scrape_registry().collect()), content_type=CONTENT_TYPE_LATEST)
