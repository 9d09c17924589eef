"""Include in the host's urls.py: ``path("", include("nzila_ops.urls"))``."""

from __future__ import annotations

from django.urls import path

from nzila_ops.health import views

app_name = "nzila_ops"
urlpatterns = [
    path("ops/health/live", views.live, name="health-live"),
    path("ops/health/live/", views.live),
    path("ops/health/", views.health, name="health"),
    path("ops/health/<str:name>/", views.health_one, name="health-check"),
]
