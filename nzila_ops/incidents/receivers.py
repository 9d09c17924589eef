"""Automatic incidents: the app's signals, turned into incident transitions.

Connected in AppConfig.ready(). Each failure signal opens (or repeats) the incident of its
component, and its recovery signal resolves it: a health flip down / back up, a failed backup /
a successful one, a failed drill / a passed one, an RPO breach / its end, a failed restore / a
successful one. The dedup key of an automatic incident is its component, so one fault seen by
two paths (a failing backup and the backup-freshness check) is one incident.

A receiver never raises into the code that sent the signal: a backup must not fail because its
incident could not be written.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.dispatch import receiver

from nzila_ops import signals
from nzila_ops.events import (
    COPY,
    Severity,
    drill_component,
    health_component,
    restore_component,
    rpo_component,
    severity_for,
)
from nzila_ops.models import Incident

# The incident service, its notifiers and the flap damping are imported by the receivers when
# a signal comes: this module is imported at set-up of every manage.py command (issue 16).

logger = logging.getLogger("nzila_ops.incidents")
ACTOR = "nzila_ops"


def _open(**fields: Any) -> None:
    """Open (or repeat) an incident; when the database cannot record it, the notifiers are told
    directly (a failed backup of an unreachable database must not go unreported)."""
    from nzila_ops.incidents import service
    from nzila_ops.incidents.notifiers import deliver_unrecorded

    try:
        service.open_incident(actor=ACTOR, **fields)
    except DatabaseError as exc:
        logger.error("incident %r not recorded (%s); notifying directly", fields["title"], exc)
        incident = Incident(
            key=fields["key"], component=fields["component"],
            severity=Severity(fields["severity"]).value, source=fields["source"],
            title=fields["title"], detected_at=fields["detected_at"],
        )  # fmt: skip
        deliver_unrecorded(incident, f"{fields['detail']}\n\nNot recorded: {exc}".strip())


def _resolve(component: str, *, at: datetime, source: str, detail: str) -> None:
    """Resolve the open incident of ``component``, if there is one (its recovery signal)."""
    from nzila_ops.incidents import service

    service.resolve_key(component, by=ACTOR, at=at, source=source, detail=detail)


def _guarded(function: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            function(*args, **kwargs)
        except Exception:
            logger.exception("incident not recorded for %s", function.__name__)

    return wrapper


def _detail(reason: str, next_step: str = "") -> str:
    text = f"Error: {reason}" if reason else ""
    if next_step:
        text += f"\n\nNext step: {next_step}"
    return text.strip()


@receiver(signals.component_flipped, dispatch_uid="nzila_ops.incidents.component_flipped")
@_guarded
def on_component_flipped(
    *,
    component: str,
    old: str,
    new: str,
    reason: str,
    critical: bool,
    at: datetime,
    detected_at: datetime | None = None,
    **_: Any,
) -> None:
    from nzila_ops.incidents import flapping

    name = health_component(component)
    if new in ("failing", "warning"):
        warning = new == "warning"
        severity = severity_for(name, critical=critical, warning=warning)
        state = "degraded" if warning else "DOWN"
        title = f"{component} is {state}"
        detail = _detail(reason, f"`python manage.py check_health {component}` shows the check.")
        flapping.fault_seen(key=name, component=name, severity=severity, source="health",
                            title=title, detected_at=detected_at or at, detail=detail)  # fmt: skip
    elif new == "ok" and old in ("failing", "warning"):
        flapping.fault_cleared(name, at=at, source="health", detail=f"{component} is ok again")


def _is_copy(component: str) -> bool:
    return component.split(":", 1)[0] == COPY


def _open_copy_failure(component: str, reason: str, at: datetime, **kwargs: Any) -> None:
    """A copy that failed past its retries (copies.report_copy_failure): the backup itself is
    fine, so the incident names the copy and its way out, copy_backups to that target."""
    name, storage = kwargs.get("backup_name", "?"), kwargs.get("storage", "?")
    _open(
        key=component, component=component, severity=severity_for(component), source="backup",
        title=f"Copy of backup {name} to storage {storage!r} FAILED", detected_at=at,
        detail=_detail(reason, "once the target is reachable again (or the cause above is "
                       f"fixed), run `python manage.py copy_backups --storage {storage}` on an "
                       "app host: it copies every backup missing from that storage. "
                       "`python manage.py list_backups` shows each backup's copies."),
    )  # fmt: skip


@receiver(signals.backup_failed, dispatch_uid="nzila_ops.incidents.backup_failed")
@_guarded
def on_backup_failed(*, component: str, reason: str, at: datetime, **kwargs: Any) -> None:
    if _is_copy(component):
        _open_copy_failure(component, reason, at, **kwargs)
        return
    database = component.split(":", 1)[1]
    _open(
        key=component, component=component, severity=severity_for(component), source="backup",
        title=f"Backup of {database!r} FAILED", detected_at=at,
        detail=_detail(reason, f"run `python manage.py backup_database --database {database}` "
                       "on an app host to reproduce, fix the cause (database, storage, keys), "
                       "and check `python manage.py list_backups` for the newest good backup: "
                       "the RPO clock runs."),
    )  # fmt: skip


@receiver(signals.backup_succeeded, dispatch_uid="nzila_ops.incidents.backup_succeeded")
@_guarded
def on_backup_succeeded(*, component: str, at: datetime, record: Any = None, **_: Any) -> None:
    name = getattr(record, "name", "")
    if _is_copy(component):
        # copies.report_copy_failure's recovery: no reported copy is missing any more.
        newest = f" (newest: {name})" if name else ""
        detail = f"every reported copy of {component.split(':', 1)[1]!r} is in place{newest}"
    else:
        detail = f"backup {name} succeeded".replace("  ", " ")
    _resolve(component, at=at, source="backup", detail=detail)


@receiver(signals.drill_failed, dispatch_uid="nzila_ops.incidents.drill_failed")
@_guarded
def on_drill_failed(*, record: Any, reason: str, at: datetime, **kwargs: Any) -> None:
    database = record.database_alias
    component = kwargs.get("component") or drill_component(database)
    # drill:<alias>@<storage>: a drill of a copy (drills.storage_drill_component); run again
    # without --storage, the drill would restore from the primary and prove nothing about it.
    storage = component.partition("@")[2]
    option = f" --storage {storage}" if storage else ""
    source = f" from storage {storage!r}" if storage else ""
    _open(
        key=component, component=component, severity=severity_for(component), source="drill",
        title=f"DR drill of {database!r}{source} FAILED", detected_at=at,
        detail=_detail(reason, f"run `python manage.py run_dr_drill{option} --database "
                       f"{database}` and `python manage.py verify_backup --latest{option}` to see "
                       "the fault.")
        + f"\nBackup: {record.backup_name or 'none'}",
    )  # fmt: skip


@receiver(signals.drill_passed, dispatch_uid="nzila_ops.incidents.drill_passed")
@_guarded
def on_drill_passed(*, record: Any, component: str, at: datetime, **_: Any) -> None:
    _resolve(component, at=at, source="drill", detail=f"DR drill passed with {record.backup_name}")


@receiver(signals.rpo_changed, dispatch_uid="nzila_ops.incidents.rpo_changed")
@_guarded
def on_rpo_changed(
    *, database: str, breached: bool, reason: str, at: datetime, **kwargs: Any
) -> None:
    component = kwargs.get("component") or rpo_component(database)
    if not breached:
        _resolve(component, at=at, source="rpo", detail=reason)
        return
    _open(
        key=component, component=component, severity=severity_for(component), source="rpo",
        title=f"RPO BREACHED for {database!r}", detected_at=at,
        detail=_detail(reason, "check that the backup schedule runs (Celery beat and workers) "
                       f"and that `python manage.py backup_database --database {database}` "
                       "succeeds."),
    )  # fmt: skip


@receiver(signals.restore_finished, dispatch_uid="nzila_ops.incidents.restore_finished")
@_guarded
def on_restore_finished(
    *, outcome: Any, succeeded: bool, reason: str, at: datetime, **kwargs: Any
) -> None:
    component = kwargs.get("component") or restore_component(outcome.database)
    if succeeded:
        _resolve(
            component, at=at, source="restore", detail=f"backup {outcome.backup_name} restored"
        )
        return
    _open(
        key=component, component=component, severity=severity_for(component), source="restore",
        title=f"Restore of {outcome.database!r} FAILED (live database unchanged)",
        detected_at=at,
        detail=_detail(reason, "run `python manage.py verify_backup NAME` on the backup, or "
                       "restore an older one (`python manage.py list_backups`).")
        + f"\nBackup: {outcome.backup_name}\nTarget: {outcome.target}",
    )  # fmt: skip
