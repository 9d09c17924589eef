from __future__ import annotations

from django.apps import AppConfig
from django.db.backends.signals import connection_created


class NzilaOpsConfig(AppConfig):
    name = "nzila_ops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from nzila_ops import checks  # noqa: F401  (registers system checks)
        from nzila_ops.incidents import receivers as incidents  # noqa: F401  (automatic incidents)
        from nzila_ops.notify import receivers  # noqa: F401  (informational e-mails)
        from nzila_ops.observability.metrics import celery_tracking  # noqa: F401  (task metrics)
        from nzila_ops.observability.metrics.database import install_query_timer

        # Every connection opened from now on times its queries (web, Celery, commands).
        connection_created.connect(install_query_timer, weak=False, dispatch_uid="nzila_ops_qt")
