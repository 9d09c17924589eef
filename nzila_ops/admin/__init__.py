"""nzila_ops in the Django admin: one module per domain, registered on import."""

from __future__ import annotations

from nzila_ops.admin import backups, health, incidents, recovery  # noqa: F401  (they register)

# The SLA report page (nzila_ops.view_sla_report): registered with its own room's admin.
from nzila_ops.sla import admin as sla_admin  # noqa: F401
