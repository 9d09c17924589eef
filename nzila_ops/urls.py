"""Include in the host's urls.py: ``path("", include("nzila_ops.urls"))``."""

from __future__ import annotations

from django.urls import path, re_path

from nzila_ops.health import views

app_name = "nzila_ops"
urlpatterns = [
    path("ops/health/live", views.live, name="health-live"),
    path("ops/health/live/", views.live),
    path("ops/health/", views.health, name="health"),
    path("ops/health/<str:name>/", views.health_one, name="health-check"),
    # Everything else below ops/health/ answers in JSON too (not Django's HTML 404, nor an
    # APPEND_SLASH redirect of any length: a configured name without its slash is redirected).
    re_path(r"^ops/health/(?P<rest>[\s\S]*)\Z", views.not_found),
]
