"""MetricsMiddleware: the request latency histogram and the request counter.

Put it first in MIDDLEWARE (after SecurityMiddleware at most) so that the time of the middleware
below it is counted, and so are their answers (a CSRF 403, an APPEND_SLASH redirect).

The ``view`` label is the route Django resolved, never the raw path: its URL pattern's name
(``nzila_ops:health``) or, for an unnamed pattern, its route (``api/deals/<int:pk>/``). A request
that matched no pattern is ``<unmatched>``, so a scanner trying a million paths adds one series,
not a million. The method is one of the standard ones or ``other``.

The time is up to the response object being returned; a streaming response's body is not timed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from nzila_ops.observability.metrics.failures import recording_failed
from nzila_ops.observability.metrics.instruments import REQUEST_DURATION, REQUESTS

UNMATCHED = "<unmatched>"
OTHER_METHOD = "other"
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)

# (view, method, status) -> the two label children. labels() validates and locks on each call;
# the set of keys is bounded like the labels themselves (routes x methods x statuses).
_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def view_label(request: HttpRequest) -> str:
    """The request's route as the ``view`` label: its pattern's name, else its route."""
    match = request.resolver_match
    if match is None:
        return UNMATCHED
    if match.url_name:
        return match.view_name
    return match.route or UNMATCHED


def record(request: HttpRequest, response: HttpResponseBase, seconds: float) -> None:
    try:
        method = request.method if request.method in METHODS else OTHER_METHOD
        key = (view_label(request), method or OTHER_METHOD, str(response.status_code))
        children = _children.get(key)
        if children is None:
            children = (REQUEST_DURATION.labels(*key), REQUESTS.labels(key[1], key[2]))
            _children[key] = children
        children[0].observe(seconds)
        children[1].inc()
    except Exception:
        recording_failed("a request")


class MetricsMiddleware:
    """Times every request and counts it by status (docs/metrics.md)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self._acall(request)
        start = perf_counter()
        response = self.get_response(request)
        record(request, response, perf_counter() - start)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        start = perf_counter()
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        response = await get_response(request)
        record(request, response, perf_counter() - start)
        return response
