"""Health endpoints.

/ops/health/live      the process answers; touches no dependency.
/ops/health/          every critical check; 200 for ok and warning, 503 for failing.
/ops/health/<name>/   one check: one UptimeRobot monitor each; unknown names are 404.

Public responses carry names and statuses only. Reasons and latencies are shown to requests
with the HEALTH_TOKEN in the X-Nzila-Health-Token header, or to a staff session.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods

from nzila_ops.conf import get_config
from nzila_ops.health.base import Status
from nzila_ops.health.registry import get_checks
from nzila_ops.health.runner import HealthReport, run_checks

TOKEN_HEADER = "HTTP_X_NZILA_HEALTH_TOKEN"


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, max-age=0"
    response["Pragma"] = "no-cache"
    response["Expires"] = "0"
    return response


def may_see_details(request: HttpRequest) -> bool:
    token = get_config()["HEALTH_TOKEN"]
    given = request.META.get(TOKEN_HEADER, "")
    if token and given and hmac.compare_digest(str(token), given):
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


@require_http_methods(["GET", "HEAD"])
def live(request: HttpRequest) -> JsonResponse:
    return _no_store(JsonResponse({"status": "ok"}))


@require_http_methods(["GET", "HEAD"])
def health(request: HttpRequest) -> JsonResponse:
    checks = [check for check in get_checks() if check.critical]
    return report_response(request, run_checks(checks))


@require_http_methods(["GET", "HEAD"])
def health_one(request: HttpRequest, name: str) -> JsonResponse:
    checks = [check for check in get_checks() if check.name == name]
    if not checks:
        return _no_store(JsonResponse({"error": "unknown check"}, status=404))
    return report_response(request, run_checks(checks))
