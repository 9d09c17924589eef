"""Health endpoints.

/ops/health/live      the process answers; touches no dependency.
/ops/health/          every critical check; 200 for ok and warning, 503 for failing.
/ops/health/<name>/   one check: one UptimeRobot monitor each; unknown names are 404.
/ops/health/...       any other path below: a JSON 404 (a check's name without its slash: 301).

Public responses carry names and statuses only. Reasons and latencies are shown to requests
with the HEALTH_TOKEN in the X-Nzila-Health-Token header, or to a staff session.

The endpoints are read-only: GET and HEAD. Anything else is a 405 in JSON, whatever the
request carries: they are exempt from CSRF, which only protects requests that change something
(a monitor or load balancer has no CSRF cookie, and a 403 HTML page is not an answer it parses).
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.health.base import Status
from nzila_ops.health.registry import get_checks
from nzila_ops.health.runner import HealthReport, run_checks
from nzila_ops.http import header_bytes

TOKEN_HEADER = "HTTP_X_NZILA_HEALTH_TOKEN"
logger = logging.getLogger("nzila_ops.health")
MISCONFIGURED = "health checks misconfigured: run manage.py check"


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, max-age=0"
    response["Pragma"] = "no-cache"
    response["Expires"] = "0"
    return response


def may_see_details(request: HttpRequest) -> bool:
    token = get_config()["HEALTH_TOKEN"]
    given = request.META.get(TOKEN_HEADER, "")
    # Bytes, not str: compare_digest refuses non-ASCII str (a TypeError, which was a 500). A
    # wrong token of any content is no token.
    if token and given:
        expected = token if isinstance(token, bytes) else str(token).encode()
        if hmac.compare_digest(expected, header_bytes(given)):
            return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


def report_response(request: HttpRequest, report: HealthReport) -> JsonResponse:
    # One "status" key only: UptimeRobot keyword monitors look for '"status": "ok"', which
    # must not be found in the body of a failing response.
    body: dict[str, Any] = {
        "status": report.status.value,
        "checks": {r.name: r.status.value for r in report.results},
        "age_seconds": round(report.age_seconds, 1),
    }
    if may_see_details(request):
        body["details"] = {r.name: r.as_detail() for r in report.results}
    status = 503 if report.status is Status.FAILING else 200
    return _no_store(JsonResponse(body, status=status, json_dumps_params={"indent": None}))


READ_METHODS = ("GET", "HEAD")


def read_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET and HEAD only; any other method is a JSON 405 with ``Allow``. Exempt from CSRF:
    nothing here changes state, and the 405 must not become the CSRF middleware's 403 page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in READ_METHODS:
            body = {"error": "method not allowed", "allowed": list(READ_METHODS)}
            response = _no_store(JsonResponse(body, status=405))
            response["Allow"] = ", ".join(READ_METHODS)
            return response
        try:
            return view(request, *args, **kwargs)
        except ConfigurationError as exc:
            # System check E001/E004 says so at deploy time; a monitor still gets an answer it
            # reads as down, and the reason stays in the log.
            logger.error("health checks misconfigured: %s", exc)
            body = {"status": "failing", "error": MISCONFIGURED}
            return _no_store(JsonResponse(body, status=503))

    return csrf_exempt(wrapper)


def unknown_check() -> JsonResponse:
    return _no_store(JsonResponse({"error": "unknown check"}, status=404))


@read_only
def live(request: HttpRequest) -> JsonResponse:
    return _no_store(JsonResponse({"status": "ok"}))


@read_only
def health(request: HttpRequest) -> JsonResponse:
    checks = [check for check in get_checks() if check.critical]
    return report_response(request, run_checks(checks))


@read_only
def health_one(request: HttpRequest, name: str) -> JsonResponse:
    checks = [check for check in get_checks() if check.name == name]
    if not checks:
        return unknown_check()
    return report_response(request, run_checks(checks))


@read_only
def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    """Any other path below the endpoints: JSON, not Django's HTML page. A configured check's
    name without its trailing slash is redirected as APPEND_SLASH would; nothing else is (a
    redirect of a path of any length is Django's 400 page)."""
    if rest in {check.name for check in get_checks()}:
        return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return unknown_check()
