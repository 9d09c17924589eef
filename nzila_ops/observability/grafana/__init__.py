"""The Grafana dashboard shipped with nzila_ops (docs/metrics.md, docs/MONITORING_GUIDE.md).

``dashboard.json`` holds the operations plan's nine panels over the metrics served at
/ops/metrics. Its datasource is a template variable (``${datasource}``, any Prometheus data
source), not an import placeholder (``${DS_...}``), so the same file works when imported through
the UI and when provisioned from disk. ``provisioning-dashboards.yaml`` and
``provisioning-datasources.yaml`` are examples of the provisioning files that load it.

Like the rest of nzila_ops.observability, this module needs neither settings nor the app registry.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["DASHBOARD_UID", "dashboard", "dashboard_json", "provisioning_example"]

#: Stable across releases: Grafana matches a provisioned or re-imported dashboard by its uid.
DASHBOARD_UID = "nzila-ops-overview"


def dashboard_json() -> str:
    """The dashboard exactly as shipped (what ``manage.py export_grafana_dashboard`` writes)."""
    return resources.files(__name__).joinpath("dashboard.json").read_text(encoding="utf-8")


def dashboard() -> dict[str, Any]:
    """The dashboard as a dict (a new one each call: callers may change it)."""
    loaded: dict[str, Any] = json.loads(dashboard_json())
    return loaded


def provisioning_example(kind: str) -> str:
    """The example provisioning file for ``kind`` "dashboards" or "datasources"."""
    if kind not in ("dashboards", "datasources"):
        raise ValueError(f"no provisioning example for {kind!r} (dashboards or datasources)")
    name = f"provisioning-{kind}.yaml"
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
