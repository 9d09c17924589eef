"""Settings of the example project as the end-to-end test deploys it (tests/e2e).

The example project's own settings (read from the environment, as a deployment's are), plus
what a production deployment adds and the example reads from nowhere: a second storage every
backup is copied to, and PagerDuty paging. The URLs and keys of the test's servers come from
the environment too, so the worker, beat, gunicorn and manage.py all read the same values.
"""

from __future__ import annotations

from nzila_export_hub.settings import *  # noqa: F403
from nzila_export_hub.settings import NZILA_OPS, env

NZILA_OPS = {
    **NZILA_OPS,
    "STORAGES": {
        **NZILA_OPS["STORAGES"],
        "second": env("NZILA_E2E_COPY_STORAGE"),
    },
    "COPY_STORAGES": ["second"],
    "INCIDENT_NOTIFIERS": [
        "nzila_ops.notify.email.EmailIncidentNotifier",
        "nzila_ops.integrations.pagerduty.notifier.PagerDutyNotifier",
    ],
    "PAGERDUTY": {
        "EVENTS_URL": env("NZILA_E2E_PAGERDUTY_EVENTS_URL"),
        # Service name -> Events API v2 routing key, as sync_pagerduty prints them.
        "ROUTING_KEYS": env.json("NZILA_E2E_PAGERDUTY_ROUTING_KEYS"),
    },
}
