"""URLs of the metrics benchmark: 50 API-like routes with an id, a plain view, and nzila_ops."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

VIEWS = 50


def api(request: HttpRequest, pk: int) -> HttpResponse:
    """What an API view does at least: a cache read and, every other id, a query."""
    cache.get(f"bench:{pk}")
    if pk % 2:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    return HttpResponse(b'{"ok": true}', content_type="application/json")


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    *(path(f"api/v{i}/<int:pk>/", api, name=f"api-{i}") for i in range(VIEWS)),
    path("plain/", plain, name="plain"),
    path("", include("nzila_ops.urls")),
]
