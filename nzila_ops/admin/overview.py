"""The operations overview: what the nzila_ops section of the admin opens on (/admin/nzila_ops/).

One block per question an operator asks first: is everything up, is the newest backup of each
database within the RPO, did the last drill meet the RTO, which incidents are open, is this
month within the SLA. Every figure is the one the rest of the app computes (the health rule of
/ops/metrics and the status page, the RPO watch's newest good backup, the SLA report's uptime),
and each block is shown only to a user who may view what it summarises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.admin import AdminSite
from django.db.models import Count, Model
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode

from nzila_ops.admin import display
from nzila_ops.admin.health import shown_status
from nzila_ops.admin.recovery import rto_against_target
from nzila_ops.conf import get_config
from nzila_ops.events import SEVERITIES
from nzila_ops.exceptions import describe
from nzila_ops.formats import duration, local_time
from nzila_ops.models import (
    BackupRecord,
    ComponentState,
    DrillRecord,
    Incident,
    RpoState,
    SlaReport,
)

logger = logging.getLogger("nzila_ops.admin")


def overview(request: HttpRequest, site: AdminSite) -> dict[str, Any]:
    """The overview's blocks for this user: a block is None when the user may not see it."""
    now = timezone.now()

    def may_view(model: type[Model]) -> bool:
        model_admin = site._registry.get(model)
        return model_admin is not None and bool(model_admin.has_view_permission(request))

    def url(name: str, query: dict[str, str] | None = None, *args: Any) -> str:
        path = reverse(f"{site.name}:nzila_ops_{name}", args=args)
        return f"{path}?{urlencode(query)}" if query else path

    blocks: dict[str, Callable[[], dict[str, Any]]] = {}
    if may_view(ComponentState):
        blocks["health"] = lambda: health_block(now, url)
    if may_view(BackupRecord):
        blocks["backups"] = lambda: backups_block(now, url)
    if may_view(DrillRecord):
        blocks["drills"] = lambda: drills_block(url)
    if may_view(Incident):
        blocks["incidents"] = lambda: incidents_block(url)
    if may_view(SlaReport):
        blocks["sla"] = lambda: sla_block(now, url)
    shown: dict[str, Any] = {
        name: None for name in ("health", "backups", "drills", "incidents", "sla")
    }
    for name, build in blocks.items():
        try:
            shown[name] = build()
        except Exception as exc:  # one broken block (bad settings) must not hide the others
            logger.exception("admin overview: the %s block failed", name)
            shown[name] = {"error": describe(exc)}
    shown["generated_at"] = display.moment(now, now)
    return shown


def health_block(now: datetime, url: Callable[..., str]) -> dict[str, Any]:
    states = {s.component: s for s in ComponentState.objects.order_by("component")}
    try:
        from nzila_ops.health.registry import check_names

        configured = check_names()
    except Exception:  # the settings are wrong: the system checks say so; show what is known
        configured = []
    rows = []
    for name in sorted(set(states) | set(configured)):
        state = states.get(name)
        if state is None:
            rows.append({"component": name, "status": "unknown", "badge": display.badge("unknown"),
                         "since": "-", "sampled": "-", "reason": "never sampled"})  # fmt: skip
            continue
        status = shown_status(state, now)
        stale = status == "unknown" and state.status != "unknown"
        rows.append({
            "component": name,
            "status": status,
            "badge": display.badge(status),
            "since": display.moment(state.since, now),
            "sampled": display.moment(state.last_sampled_at, now),
            "reason": (f"not sampled since {local_time(state.last_sampled_at)}"
                       if stale else state.reason),
            "url": url("componentstate_change", None, state.pk),
        })  # fmt: skip
    # What needs an operator first: failing, warning, not known, then ok (each by name).
    rows.sort(key=lambda row: (_HEALTH_ORDER.get(row["status"], 2), row["component"]))
    return {
        "rows": rows,
        "states_url": url("componentstate_changelist"),
        "flips_url": url("componentflip_changelist"),
        "gap": duration(get_config()["HEALTH_SAMPLE_GAP_SECONDS"]),
    }


def backups_block(now: datetime, url: Callable[..., str]) -> dict[str, Any]:
    from nzila_ops.backups.catalog import newest_good_backup, rpo_limit_seconds

    config = get_config()
    target, limit = float(config["RPO_TARGET_SECONDS"]), rpo_limit_seconds(config)
    breached = set(RpoState.objects.filter(breached=True).values_list("database_alias", flat=True))
    aliases = sorted(set(config["BACKUP_DATABASES"]))
    rows = []
    for alias in aliases:
        record = newest_good_backup(alias)
        age = None if record is None else (now - record.finished_at).total_seconds()
        if age is None or age > limit or alias in breached:
            state = "breached"
        elif age > target:
            state = "late"
        else:
            state = "within"
        rows.append({
            "database": alias,
            "badge": display.badge(state, f"RPO {state}"),
            "backup": record,
            "name": "" if record is None else display.name(record.name),
            "url": None if record is None else url("backuprecord_change", None, record.pk),
            "finished": "-" if record is None else display.moment(record.finished_at, now),
            "size": "-" if record is None else display.size(record.stored_size),
            "verified": "" if record is None else _verified(record),
        })  # fmt: skip
    failed = BackupRecord.objects.filter(status=BackupRecord.Status.FAILED,
                                         started_at__gte=now - _DAY).count()  # fmt: skip
    return {
        "rows": rows,
        "target": duration(target),
        "limit": duration(limit),
        "failed_24h": failed,
        "failed_url": url("backuprecord_changelist", {"status__exact": "failed"}),
        "list_url": url("backuprecord_changelist"),
        "rpo_url": url("rpostate_changelist"),
    }


def _verified(record: BackupRecord) -> Any:
    from nzila_ops.admin.backups import verification_badge

    return verification_badge(record)


def drills_block(url: Callable[..., str]) -> dict[str, Any]:
    rows = []
    aliases = DrillRecord.objects.order_by().values_list("database_alias", flat=True).distinct()
    for alias in sorted(set(aliases)):
        drill = DrillRecord.objects.filter(database_alias=alias).order_by("-started_at").first()
        if drill is None:  # pragma: no cover - deleted meanwhile
            continue
        rows.append({
            "database": alias,
            "badge": display.badge(drill.result),
            "rto": rto_against_target(drill),
            "when": display.moment(drill.started_at),
            "backup": drill.backup_name or "-",
            "error": drill.error,
            "url": url("drillrecord_change", None, drill.pk),
        })  # fmt: skip
    return {
        "rows": rows,
        "target": duration(get_config()["RTO_TARGET_SECONDS"]),
        "list_url": url("drillrecord_changelist"),
    }


def incidents_block(url: Callable[..., str]) -> dict[str, Any]:
    open_statuses = [Incident.Status.TRIGGERED, Incident.Status.ACKNOWLEDGED]
    counts = dict(
        Incident.objects.filter(is_drill=False, status__in=open_statuses)
        .values_list("severity")
        .annotate(n=Count("pk"))
        .values_list("severity", "n")
    )
    query = {"is_drill__exact": "0", "status__in": ",".join(open_statuses)}
    rows = [
        {"severity": s, "badge": display.badge(s), "count": counts.get(s, 0),
         "url": url("incident_changelist", {**query, "severity__exact": s})}
        for s in SEVERITIES
    ]  # fmt: skip
    return {
        "rows": rows,
        "total": sum(counts.values()),
        "open_url": url("incident_changelist", query),
        "list_url": url("incident_changelist"),
    }


def sla_block(now: datetime, url: Callable[..., str]) -> dict[str, Any]:
    from nzila_ops.sla.periods import current_month
    from nzila_ops.sla.render import percent
    from nzila_ops.sla.report import component_row
    from nzila_ops.sla.uptime import overall_availability, sla_components

    month = current_month(now)
    target = float(get_config()["SLA"]["TARGET_PERCENT"])
    row = component_row(overall_availability(sla_components(), month.start, min(now, month.end)),
                        target)  # fmt: skip
    state = "unknown" if row.met is None else "met" if row.met else "missed"
    try:
        status_url: str | None = reverse("nzila_ops:status")
    except NoReverseMatch:  # the host has not included nzila_ops.urls
        status_url = None
    return {
        "month": month.label,
        "badge": display.badge(state),
        "uptime": "unknown" if row.uptime_percent is None else percent(row.uptime_percent),
        "target": f"{target:g} %",
        "down": duration(row.down_seconds),
        "allowed": duration(row.allowed_downtime_seconds),
        "report_url": url("slareport_changelist"),
        "status_url": status_url,
    }


_DAY = timedelta(days=1)
_HEALTH_ORDER = {"failing": 0, "warning": 1, "unknown": 2, "ok": 3}
