"""URLs of the health benchmark: ours at /ops/health/, django-health-check's at /ht/.

django-health-check 4.x has no URLconf to include and no settings: its view is configured with
the checks it runs. Its Redis check takes a client factory and makes a client per request.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import include, path
from health_check.views import HealthCheckView
from redis.asyncio import Redis


def redis_client() -> Redis:
    return Redis.from_url(settings.HEALTH_REDIS_URL)


THEIR_CHECKS = [
    "health_check.checks.Database",
    "health_check.checks.Cache",
    ("health_check.contrib.redis.Redis", {"client_factory": redis_client}),
]

urlpatterns = [
    path("", include("nzila_ops.urls")),
    path("ht/", HealthCheckView.as_view(checks=THEIR_CHECKS), name="health_check"),
]
