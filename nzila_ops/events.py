"""The one event vocabulary: severities, sources and component names, defined once.

Signals, incidents, notifiers and reports all speak it. A component has one name everywhere (the
health check's name is the incident's component, the metric's label and the SLA report's row):

- a health check's name: ``database``, ``redis``, ``celery_workers``, ``payments_api``...;
- ``backup:<alias>``: failed backups *and* the backup-freshness verdict of that alias (one
  fault, one component: the ``backup_freshness`` check of alias ``default`` reports as
  ``backup:default``);
- ``drill:<alias>``: the disaster-recovery drills of that alias;
- ``rpo:<alias>``: the RPO watch of that alias;
- ``restore:<alias>``: restores of that alias (a failed one is an incident until one succeeds);
- ``copy:<alias>``: the copies of that alias's backups to the copy targets (COPY_STORAGES).
"""

from __future__ import annotations

import enum
from typing import Any

from nzila_ops.conf import get_config


class Severity(enum.StrEnum):
    """P0 is the most severe. The value is what is stored and shown."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"

    @property
    def rank(self) -> int:
        """0 for P0 ... 3 for P3: lower is more severe."""
        return int(self.value[1])

    def is_more_severe_than(self, other: Severity | str) -> bool:
        return self.rank < Severity(other).rank

    @property
    def pagerduty(self) -> str:
        """The Events API v2 severity."""
        return {"P0": "critical", "P1": "error", "P2": "warning", "P3": "info"}[self.value]

    @property
    def label(self) -> str:
        """The word e-mails and reports use ('critical' ... 'low')."""
        return {"P0": "critical", "P1": "high", "P2": "medium", "P3": "low"}[self.value]


SEVERITIES = tuple(s.value for s in Severity)

#: Where an incident came from.
SOURCES = ("health", "backup", "drill", "rpo", "restore", "uptimerobot", "sentry", "pagerduty",
           "manual", "sla")  # fmt: skip

#: The prefixes of the components that are not health checks.
BACKUP, DRILL, RPO, RESTORE, COPY = "backup", "drill", "rpo", "restore", "copy"

#: The severity of a component's fault when NZILA_OPS['INCIDENT_SEVERITIES'] does not name it:
#: a critical health check (one that makes up /ops/health/) and the others.
FALLBACK_CRITICAL = Severity.P1
FALLBACK_OTHER = Severity.P2
#: The key of INCIDENT_SEVERITIES used for a health check going to "warning" (not failing).
WARNING_KEY = "warning"


def backup_component(alias: str) -> str:
    return f"{BACKUP}:{alias}"


def drill_component(alias: str) -> str:
    return f"{DRILL}:{alias}"


def copy_component(alias: str) -> str:
    """One name for the incident of a backup's copies, whatever the target."""
    return f"{COPY}:{alias}"


def rpo_component(alias: str) -> str:
    return f"{RPO}:{alias}"


def restore_component(alias: str) -> str:
    return f"{RESTORE}:{alias}"


def health_component(check_name: str) -> str:
    """The component a health check's flips belong to: its own name, except the backup-freshness
    checks, whose verdict is the backup component's (``backup_freshness`` -> ``backup:default``,
    ``backup_freshness_<alias>`` -> ``backup:<alias>``)."""
    if check_name == "backup_freshness":
        return backup_component("default")
    if check_name.startswith("backup_freshness_"):
        return backup_component(check_name.removeprefix("backup_freshness_"))
    return check_name


def severity_for(component: str, *, critical: bool = True, warning: bool = False) -> Severity:
    """The configured severity of a fault of ``component``.

    ``warning``: the component is degraded, not failing (disk nearly full, the newest backup
    nearing the RPO limit): the ``warning`` entry (P3 by default), unless the component's own
    entry is lower still. Otherwise the component's own entry (``backup:default``), then its
    kind's (``backup``), then P1 for a critical health check and P2 for any other."""
    table: dict[str, Any] = get_config()["INCIDENT_SEVERITIES"]
    kind = component.split(":", 1)[0] if ":" in component else None
    configured = table.get(component) or (table.get(kind) if kind else None)
    if warning:
        floor = Severity(table.get(WARNING_KEY, "P3"))
        if configured and not Severity(configured).is_more_severe_than(floor):
            return Severity(configured)
        return floor
    if configured:
        return Severity(configured)
    return FALLBACK_CRITICAL if critical else FALLBACK_OTHER
