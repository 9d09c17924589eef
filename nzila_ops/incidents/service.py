"""The incident lifecycle: the only code that changes an incident's status and times.

Every transition is a compare-and-update (``filter(pk=..., status=<expected>).update(...)``) in
one transaction with the IncidentEvent that records it and the notifier deliveries of that
event; it goes on only when its update changed the row. So a transition repeated (beat firing
twice, two operators clicking at once, a webhook replayed) changes nothing, adds no event and
notifies nobody a second time, and the function says so by returning False.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from nzila_ops.events import SOURCES, Severity
from nzila_ops.exceptions import InvalidArgument
from nzila_ops.incidents.notifiers import queue_deliveries
from nzila_ops.models import Incident, IncidentEvent

logger = logging.getLogger("nzila_ops.incidents")

Status = Incident.Status
Kind = IncidentEvent.Kind
IncidentRef = Incident | int


def _severity(value: Severity | str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise InvalidArgument(f"severity {value!r} is not one of P0, P1, P2, P3") from None


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise InvalidArgument(f"incident source {source!r} is not one of {', '.join(SOURCES)}")


def _record(
    incident: Incident,
    kind: str,
    at: datetime,
    *,
    actor: str = "",
    source: str = "",
    detail: str = "",
    severity: str = "",
) -> IncidentEvent:
    """Append one timeline event; a transition's event gets its deliveries (sent after commit)."""
    event = IncidentEvent.objects.create(
        incident=incident, kind=kind, at=at, actor=actor[:150], source=source,
        detail=detail, severity=severity,
    )  # fmt: skip
    if kind in IncidentEvent.NOTIFIED:
        queue_deliveries(event)
    return event


def find_open(key: str) -> Incident | None:
    """The open (triggered or acknowledged) incident of ``key``, if any."""
    return Incident.objects.filter(key=key).exclude(status=Status.RESOLVED).first()


def open_incident(
    *,
    key: str,
    component: str,
    severity: Severity | str,
    source: str,
    title: str,
    detected_at: datetime | None = None,
    detail: str = "",
    is_drill: bool = False,
    actor: str = "",
) -> tuple[Incident, bool]:
    """Open an incident for ``key``, or record that its fault was seen again.

    Returns (the incident, True) when this call opened it. When an incident of ``key`` is
    already open it gets a 'repeated' event, and a 'severity_changed' one (delivered) if
    ``severity`` is more severe than its own; it is returned with False."""
    severity = _severity(severity)
    _check_source(source)
    if not key:
        raise InvalidArgument("an incident needs a non-empty key")
    seen_at = detected_at
    detected_at = detected_at or timezone.now()
    for _attempt in range(3):
        with transaction.atomic():
            existing = find_open(key)
            if existing is None:
                try:
                    # A savepoint: two openers racing on one key meet the partial unique
                    # constraint; the loser records 'repeated' on the winner's incident.
                    with transaction.atomic():
                        incident = Incident.objects.create(
                            key=key[:255], component=component[:100], severity=severity.value,
                            source=source, title=title[:300], detected_at=detected_at,
                            is_drill=is_drill,
                        )  # fmt: skip
                except IntegrityError:
                    logger.info("incident for key %r opened by another worker meanwhile", key)
                    continue
                _record(incident, Kind.OPENED, detected_at, actor=actor, source=source,
                        detail=detail, severity=severity.value)  # fmt: skip
                logger.warning("incident #%s opened (%s): %s", incident.pk, severity, title)
                return incident, True
            # When this occurrence was seen; else now (after a racing opener's commit).
            _repeat(existing, severity, source, actor, detail, seen_at or timezone.now())
            return existing, False
    # Three lost races in a row: the winner's row exists; fall back to it.
    incident = find_open(key)
    if incident is None:  # pragma: no cover - opened and resolved in between, three times over
        raise RuntimeError(f"could not open or find an incident for key {key!r}")
    return incident, False


def _repeat(
    incident: Incident, severity: Severity, source: str, actor: str, detail: str, now: datetime
) -> None:
    _record(incident, Kind.REPEATED, now, actor=actor, source=source, detail=detail)
    if incident.up_since is not None:
        # A flapping component went down again before it settled: it stays open.
        Incident.objects.filter(pk=incident.pk).update(up_since=None)
        incident.up_since = None
    if severity.is_more_severe_than(incident.severity):
        _change_severity(incident, severity, now, actor=actor, source=source)


def _change_severity(
    incident: Incident, severity: Severity, at: datetime, *, actor: str, source: str
) -> bool:
    old = incident.severity
    changed = Incident.objects.filter(pk=incident.pk, severity=old).update(severity=severity.value)
    if not changed:
        return False
    incident.severity = severity.value
    _record(incident, Kind.SEVERITY_CHANGED, at, actor=actor, source=source,
            detail=f"{old} -> {severity.value}", severity=severity.value)  # fmt: skip
    return True


def set_severity(
    incident_or_pk: IncidentRef, severity: Severity | str, *, by: str, source: str = "manual"
) -> bool:
    """Change an open incident's severity. False when it already has it or is resolved."""
    severity = _severity(severity)
    with transaction.atomic():
        incident = _locked(incident_or_pk)
        if not incident.is_open or incident.severity == severity.value:
            return False
        return _change_severity(incident, severity, timezone.now(), actor=by, source=source)


def _locked(incident_or_pk: IncidentRef) -> Incident:
    pk = incident_or_pk.pk if isinstance(incident_or_pk, Incident) else incident_or_pk
    try:
        return Incident.objects.select_for_update().get(pk=pk)
    except Incident.DoesNotExist:
        raise InvalidArgument(f"no incident #{pk}") from None


def _transition(
    incident_or_pk: IncidentRef,
    expected: tuple[str, ...],
    kind: str,
    fields: dict[str, object],
    at: datetime,
    by: str,
    source: str,
    detail: str = "",
    **condition: Any,
) -> bool:
    _check_source(source)
    pk = incident_or_pk.pk if isinstance(incident_or_pk, Incident) else incident_or_pk
    with transaction.atomic():
        # Concurrent callers block on the row here; the loser's WHERE no longer matches.
        rows = Incident.objects.filter(pk=pk, status__in=expected, **condition)
        changed = rows.update(**fields)
        if not changed:
            if not Incident.objects.filter(pk=pk).exists():
                raise InvalidArgument(f"no incident #{pk}")
            return False
        incident = Incident.objects.get(pk=pk)
        _record(incident, kind, at, actor=by, source=source, detail=detail)
    if isinstance(incident_or_pk, Incident):
        incident_or_pk.refresh_from_db()
    logger.info("incident #%s %s by %s", pk, kind, by or source)
    return True


def acknowledge(
    incident_or_pk: IncidentRef, *, by: str, at: datetime | None = None, source: str = "manual"
) -> bool:
    """Triggered -> acknowledged. True when this call did it."""
    at = at or timezone.now()
    fields = {"status": Status.ACKNOWLEDGED, "acknowledged_at": at, "acknowledged_by": by[:150]}
    return _transition(incident_or_pk, (Status.TRIGGERED,), Kind.ACKNOWLEDGED, fields, at, by,
                       source)  # fmt: skip


def resolve(
    incident_or_pk: IncidentRef,
    *,
    by: str,
    at: datetime | None = None,
    source: str = "manual",
    detail: str = "",
    **condition: Any,
) -> bool:
    """Triggered or acknowledged -> resolved. True when this call did it."""
    at = at or timezone.now()
    fields = {"status": Status.RESOLVED, "resolved_at": at, "resolved_by": by[:150],
              "up_since": None}  # fmt: skip
    return _transition(incident_or_pk, Incident.OPEN_STATUSES, Kind.RESOLVED, fields, at, by,
                       source, detail, **condition)  # fmt: skip


def resolve_key(
    key: str, *, by: str, at: datetime | None = None, source: str, detail: str = ""
) -> bool:
    """Resolve the open incident of ``key``, if there is one."""
    incident = find_open(key)
    if incident is None:
        return False
    return resolve(incident, by=by, at=at, source=source, detail=detail)


def reopen(
    incident_or_pk: IncidentRef,
    *,
    by: str,
    at: datetime | None = None,
    source: str,
    detail: str = "",
) -> bool:
    """Resolved -> triggered (it needs a new acknowledgement). False when it is open, or when
    another incident of its key is open (that one is the fault now)."""
    at = at or timezone.now()
    fields = {"status": Status.TRIGGERED, "resolved_at": None, "resolved_by": "",
              "acknowledged_at": None, "acknowledged_by": "", "up_since": None}  # fmt: skip
    try:
        with transaction.atomic():
            return _transition(incident_or_pk, (Status.RESOLVED,), Kind.REOPENED, fields, at,
                               by, source, detail)  # fmt: skip
    except IntegrityError:
        return False


def add_note(incident_or_pk: IncidentRef, *, by: str, text: str) -> IncidentEvent:
    """Append a note to the timeline (never delivered)."""
    text = text.strip()
    if not text:
        raise InvalidArgument("a note needs some text")
    with transaction.atomic():
        incident = _locked(incident_or_pk)
        return _record(incident, Kind.NOTE, timezone.now(), actor=by, source="manual", detail=text)


def hold_until_settled(incident: Incident, at: datetime) -> bool:
    """A flapping component came back up at ``at``: resolve only once it has stayed up
    (settle_flapping). False when the incident is not open or already waiting."""
    with transaction.atomic():
        changed = Incident.objects.filter(
            pk=incident.pk, status__in=Incident.OPEN_STATUSES, up_since__isnull=True
        ).update(up_since=at)
        if changed:
            # The incident's own source: a burn-rate or UptimeRobot incident flaps too.
            _record(incident, Kind.NOTE, at, source=incident.source, actor="nzila_ops",
                    detail="the fault cleared again; it has been flapping, so the incident "
                    "resolves once it has stayed clear for INCIDENT_FLAP_SECONDS")  # fmt: skip
    return bool(changed)


def settle_flapping(now: datetime | None = None) -> list[int]:
    """Resolve the held incidents whose component has stayed up long enough. Their resolution
    time is when the component came back up."""
    from nzila_ops.conf import get_config

    now = now or timezone.now()
    window = float(get_config()["INCIDENT_FLAP_SECONDS"])
    due = Incident.objects.filter(
        status__in=Incident.OPEN_STATUSES,
        up_since__isnull=False,
        up_since__lte=now - timedelta(seconds=window),
    )
    resolved = []
    for incident in due:
        # Only if it is still held: a flip down since then cleared up_since.
        if resolve(incident, by="nzila_ops", at=incident.up_since, source=incident.source,
                   detail="component stayed up", up_since=incident.up_since):  # fmt: skip
            resolved.append(incident.pk)
    return resolved
