from __future__ import annotations

from django.apps import AppConfig


class NzilaOpsConfig(AppConfig):
    name = "nzila_ops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from nzila_ops import checks  # noqa: F401  (registers system checks)
        from nzila_ops.incidents import receivers as incidents  # noqa: F401  (automatic incidents)
        from nzila_ops.notify import receivers  # noqa: F401  (informational e-mails)
