"""A URLconf for the metrics tests: a route with an id, a worker's pid, and nzila_ops."""

from __future__ import annotations

import os
import time

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def deal(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse({"deal": pk})


def pid(request: HttpRequest) -> JsonResponse:
    """Which gunicorn worker answered (and one query, for the query histogram). ``?sleep=s``
    keeps the worker busy, so that concurrent requests must go to the other one."""
    time.sleep(min(float(request.GET.get("sleep", "0")), 1.0))
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"pid": os.getpid()})


def boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("a view that fails")


urlpatterns = [
    path("api/deals/<int:pk>/", deal),
    path("pid/", pid, name="pid"),
    path("boom/", boom, name="boom"),
    path("", include("nzila_ops.urls")),
]
