"""The public status page: /ops/status/ (HTML) and /ops/status.json.

Anyone may read them (no login, no token): they show only what nzila_ops.sla.status puts in
the public document. GET and HEAD only; the query string is ignored. A database that cannot be
read makes a 503 that says the status is unavailable, never a 500 or an error page with a
traceback.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.sla.bars import day_text, svg_bars
from nzila_ops.sla.periods import sla_timezone
from nzila_ops.sla.status import cached_status_document

logger = logging.getLogger("nzila_ops.sla")

# The page is static HTML with inline CSS and inline SVG: nothing else may load or run.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
LABELS = {
    "ok": "Operational",
    "degraded": "Degraded performance",
    "outage": "Outage",
    "unknown": "Status unknown",
}
HEADLINES = {
    "ok": "All systems operational",
    "degraded": "Some systems have degraded performance",
    "outage": "Some systems are experiencing an outage",
    "unknown": "The status of some systems is unknown",
}


def _document() -> dict[str, Any] | None:
    try:
        return cached_status_document()
    except (DatabaseError, ConfigurationError) as exc:
        logger.error("status page unavailable: %s", exc)
        return None


def _public_headers(response: HttpResponse) -> HttpResponse:
    try:
        seconds = max(0, int(get_config()["SLA"]["STATUS_CACHE_SECONDS"]))
    except (ConfigurationError, TypeError, ValueError):
        seconds = 0
    response["Cache-Control"] = f"public, max-age={seconds}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@csrf_exempt
@require_safe
def status_json(request: HttpRequest) -> HttpResponse:
    document = _document()
    if document is None:
        body = {"status": "unknown", "error": "the status is unavailable right now"}
        return _public_headers(JsonResponse(body, status=503))
    return _public_headers(JsonResponse(document, json_dumps_params={"indent": None}))


@csrf_exempt
@require_safe
def status_page(request: HttpRequest) -> HttpResponse:
    document = _document()
    context = {"available": document is not None}
    if document is not None:
        context.update(_presented(document))
    response = render(
        request, "nzila_ops/status.html", context, status=200 if document is not None else 503
    )
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return _public_headers(response)


def _presented(document: dict[str, Any]) -> dict[str, Any]:
    """What the template needs beside the document: labels, the bars, readable times."""
    components = [
        {
            **component,
            "label": LABELS[component["status"]],
            "bars": _bars(component),
            "uptime": _uptime(component["uptime_percent"]),
        }
        for component in document["components"]
    ]
    incidents = {
        kind: [
            {**i, "started": _when(i["started_at"]), "resolved": _when(i["resolved_at"])}
            for i in document["incidents"][kind]
        ]
        for kind in ("open", "resolved")
    }
    return {
        "status": document["status"],
        "headline": HEADLINES[document["status"]],
        "components": components,
        "incidents": incidents,
        "generated": _when(document["generated_at"]),
        "time_zone": document["time_zone"],
        "days": document["days"],
    }


def _bars(component: dict[str, Any]) -> str:
    days = ((d["status"], d["date"], day_text(d["status"], d["uptime_percent"]))
            for d in component["days"])  # fmt: skip
    return svg_bars(days, f"{component['name']}: daily uptime, oldest first")


def _uptime(value: float | None) -> str:
    return "no data" if value is None else f"{value:.3f} % uptime"


def _when(text: str | None) -> str:
    if not text:
        return ""
    return datetime.fromisoformat(text).astimezone(sla_timezone()).strftime("%Y-%m-%d %H:%M %Z")
