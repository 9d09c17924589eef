"""Include in the host's urls.py: ``path("", include("nzila_ops.urls"))``."""

from __future__ import annotations

from django.urls import path, re_path

from nzila_ops.health import views
from nzila_ops.integrations import inbound
from nzila_ops.integrations.pagerduty import webhook as pagerduty_webhook
from nzila_ops.integrations.sentry import webhook as sentry_webhook
from nzila_ops.integrations.uptimerobot import webhook as uptimerobot_webhook
from nzila_ops.observability.metrics import view as metrics_view
from nzila_ops.sla import status_views

app_name = "nzila_ops"
urlpatterns = [
    path("ops/health/live", views.live, name="health-live"),
    path("ops/health/live/", views.live),
    path("ops/health/", views.health, name="health"),
    path("ops/health/<str:name>/", views.health_one, name="health-check"),
    # Everything else below ops/health/ answers in JSON too (not Django's HTML 404, nor an
    # APPEND_SLASH redirect of any length: a configured name without its slash is redirected).
    re_path(r"^ops/health/(?P<rest>[\s\S]*)\Z", views.not_found),
    # Inbound alert webhooks, with or without the trailing slash: a vendor's POST is never
    # redirected (APPEND_SLASH would lose its body).
    path("ops/webhooks/pagerduty/", pagerduty_webhook.receive, name="webhook-pagerduty"),
    path("ops/webhooks/pagerduty", pagerduty_webhook.receive),
    path(
        "ops/webhooks/uptimerobot/<str:token>/",
        uptimerobot_webhook.receive,
        name="webhook-uptimerobot",
    ),
    path("ops/webhooks/uptimerobot/<str:token>", uptimerobot_webhook.receive),
    path("ops/webhooks/sentry/", sentry_webhook.receive, name="webhook-sentry"),
    path("ops/webhooks/sentry", sentry_webhook.receive),
    re_path(r"^ops/webhooks/(?P<rest>[\s\S]*)\Z", inbound.not_found),
    # The public status page (docs/status_page.md): no login, public components only.
    path("ops/status/", status_views.status_page, name="status"),
    path("ops/status.json", status_views.status_json, name="status-json"),
    # Prometheus scrapes with or without the slash, never redirected; one name for both, so
    # both are one `view` label.
    path("ops/metrics/", metrics_view.metrics, name="metrics"),
    path("ops/metrics", metrics_view.metrics, name="metrics"),  # what reverse() gives
]
