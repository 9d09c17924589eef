"""The example host project without a LOGGING setting: a host that never configured logging,
where Python's last-resort handler prints any record nobody handles."""

from __future__ import annotations

from nzila_export_hub.settings import *  # noqa: F403

del LOGGING  # noqa: F821  (star-imported)
