"""Settings of the example project served to the browser tests: the example's own, with some
components published on the public status page (the example publishes none) so that the page
and its screenshot show what a customer sees."""

from __future__ import annotations

from nzila_export_hub.settings import *  # noqa: F403
from nzila_export_hub.settings import NZILA_OPS

NZILA_OPS = {
    **NZILA_OPS,
    "SLA": {
        "PUBLIC_COMPONENTS": {
            "auth_api": "Sign-in",
            "vehicles_api": "Vehicle listings",
            "deals_api": "Deals",
            "payments_api": "Payments",
            "database": "Database",
        }
    },
}
