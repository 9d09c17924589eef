"""Where incident transitions go: notifier backends and their delivery outbox.

Each transition event (opened, acknowledged, resolved, reopened, severity changed) gets one
Delivery row per backend of NZILA_OPS['INCIDENT_NOTIFIERS'], written in the transition's
transaction; a Celery task sends them after commit, and the periodic task
``nzila_ops.retry_deliveries`` sends whatever is due (transient failures, with backoff; rows
whose task never ran because the broker was down). A row is claimed by compare-and-update before
it is sent and is never sent once it is ``sent``, so nothing is delivered twice; a backend that
is not configured gets a ``skipped`` row, said so on the timeline. So does a backend that
declines an event (``declines``): the PagerDuty notifier is not told what PagerDuty's own
webhook told us, which would echo back to it (a reopening there would page a second time).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from nzila_ops.conf import get_config
from nzila_ops.events import Severity
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.models import Delivery, Incident, IncidentEvent

logger = logging.getLogger("nzila_ops.incidents")

#: How long a claimed delivery belongs to the worker sending it; a worker killed mid-send leaves
#: it to the periodic retry after this. Longer than any backend's own timeouts and retries.
LEASE = timedelta(minutes=5)
#: The longest wait between two attempts of one delivery.
MAX_BACKOFF_SECONDS = 3600


class DeliveryFailed(Exception):
    """A backend could not deliver. ``transient``: worth trying again later (network, 5xx,
    throttling); otherwise the delivery is failed for good (400, refused credentials)."""

    def __init__(self, detail: str, transient: bool = True) -> None:
        super().__init__(detail)
        self.detail = detail
        self.transient = transient


class IncidentNotifier:
    """A backend: deliver one transition of one incident, or raise DeliveryFailed."""

    #: Stable name, stored on each Delivery row (e.g. "email", "pagerduty").
    name: str = ""

    def deliver(self, incident: Incident, event: IncidentEvent) -> None:
        raise NotImplementedError

    def configured(self) -> bool:
        """False: deliveries to this backend are 'skipped' (no recipients, no routing key)."""
        return True

    def declines(self, incident: Incident, event: IncidentEvent) -> str:
        """Why this backend is not to be told of ``event`` (its delivery is 'skipped' with
        that reason), or "" to deliver it. A backend declines what its own vendor told us
        (``event.source``): sending it back is an echo at best and a second page at worst."""
        return ""


def load_notifier(path: str) -> IncidentNotifier:
    """The backend at ``path``. ConfigurationError (system check E005) when it is not one."""
    try:
        notifier = import_string(path)()
    except ImportError as exc:
        raise ConfigurationError(f"cannot import incident notifier {path}: {exc}") from None
    if not isinstance(notifier, IncidentNotifier) or not notifier.name:
        raise ConfigurationError(f"incident notifier {path} is not an IncidentNotifier with a name")
    return notifier


def get_notifiers() -> list[IncidentNotifier]:
    """The backends of INCIDENT_NOTIFIERS; one whose path is wrong is left out (and logged)."""
    notifiers: dict[str, IncidentNotifier] = {}
    for path in get_config()["INCIDENT_NOTIFIERS"]:
        try:
            notifier = load_notifier(path)
        except ConfigurationError as exc:
            logger.error("%s", exc)
            continue
        notifiers.setdefault(notifier.name, notifier)  # a name twice: the first one
    return list(notifiers.values())


def notifier_named(name: str) -> IncidentNotifier | None:
    return next((n for n in get_notifiers() if n.name == name), None)


def queue_deliveries(event: IncidentEvent) -> list[Delivery]:
    """One Delivery per configured backend for ``event``; sent after the transaction commits.
    Called inside the transition's transaction (service._record). A backend that cannot be
    loaded never stops the incident itself from being recorded (system check E005 names it)."""
    deliveries = []
    now = timezone.now()
    for notifier in get_notifiers():
        ready = notifier.configured()
        declined = notifier.declines(event.incident, event) if ready else ""
        why = declined if ready else "not configured"
        deliveries.append(
            Delivery.objects.create(
                event=event,
                notifier=notifier.name,
                status=Delivery.Status.SKIPPED if why else Delivery.Status.PENDING,
                next_attempt_at=None if why else now,
                last_error=why,
            )
        )
        if not ready and event.kind == IncidentEvent.Kind.OPENED:
            # Said once per incident, not at each of its transitions.
            IncidentEvent.objects.create(
                incident=event.incident, kind=IncidentEvent.Kind.NOTE, at=now, actor="nzila_ops",
                detail=f"{notifier.name} is not configured: this incident is not sent there",
            )  # fmt: skip
    if any(d.status == Delivery.Status.PENDING for d in deliveries):
        transaction.on_commit(lambda: _enqueue(event.pk))
    return deliveries


def deliver_unrecorded(incident: Incident, detail: str) -> int:
    """The database cannot record ``incident`` (an unsaved instance): tell every configured
    backend of its opening directly, once, without the outbox, so a failure that took the
    database with it is still loud. Returns how many backends were told; one that fails is
    logged (there is no row to retry from)."""
    event = IncidentEvent(incident=incident, kind=IncidentEvent.Kind.OPENED,
                          at=incident.detected_at, actor="nzila_ops", detail=detail)  # fmt: skip
    told = 0
    for notifier in get_notifiers():
        if not notifier.configured():
            continue
        try:
            notifier.deliver(incident, event)
            told += 1
        except Exception:
            logger.exception("%s could not be told of the unrecorded incident %r",
                             notifier.name, incident.title)  # fmt: skip
    return told


def _enqueue(event_pk: int) -> None:
    from nzila_ops.tasks import send_incident_event_task

    try:
        send_incident_event_task.delay(event_pk)
    except Exception as exc:  # the broker is down: the periodic retry sends them
        logger.warning("incident event %s not queued (%s); left to retry_deliveries", event_pk, exc)


def send_event(event_pk: int) -> dict[str, str]:
    """Send the pending deliveries of one event. Returns {notifier: outcome}."""
    pending = Delivery.objects.filter(event_id=event_pk, status=Delivery.Status.PENDING)
    return {d.notifier: send_delivery(d.pk) for d in pending.order_by("id")}


def send_due(now: datetime | None = None) -> dict[int, str]:
    """Send every pending delivery that is due (oldest first, so events keep their order)."""
    now = now or timezone.now()
    due = Delivery.objects.filter(status=Delivery.Status.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    return {pk: send_delivery(pk, now) for pk in due.order_by("id").values_list("pk", flat=True)}


def send_delivery(pk: int, now: datetime | None = None) -> str:
    """Try one delivery once. Returns its outcome: sent, retry, failed, or waiting (an earlier
    transition of the incident is still pending for this backend and must go first), busy
    (another worker holds it, or it is not due), or the status it already had."""
    now = now or timezone.now()
    delivery = Delivery.objects.select_related("event__incident").get(pk=pk)
    if delivery.status != Delivery.Status.PENDING:
        return str(delivery.status)
    event, incident = delivery.event, delivery.event.incident
    # A resolve must not overtake its trigger (PagerDuty would drop the resolve and keep the
    # page open for ever).
    earlier = Delivery.objects.filter(
        notifier=delivery.notifier, status=Delivery.Status.PENDING,
        event__incident_id=incident.pk, event_id__lt=event.pk,
    )  # fmt: skip
    if earlier.exists():
        return "waiting"
    claimed = (
        Delivery.objects.filter(pk=pk, status=Delivery.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(next_attempt_at=now + LEASE, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "busy"
    attempts = delivery.attempts + 1
    notifier = notifier_named(delivery.notifier)
    try:
        if notifier is None:
            raise DeliveryFailed(f"no notifier {delivery.notifier!r} is configured", False)
        notifier.deliver(incident, event)
    except DeliveryFailed as exc:
        return _failed(delivery, event, exc.detail, exc.transient, attempts)
    except Exception as exc:  # a backend's bug or an unforeseen error: retried, bounded
        logger.exception("notifier %s failed on incident #%s", delivery.notifier, incident.pk)
        return _failed(delivery, event, f"{type(exc).__name__}: {exc}", True, attempts)
    with transaction.atomic():
        Delivery.objects.filter(pk=pk).update(
            status=Delivery.Status.SENT, sent_at=timezone.now(), next_attempt_at=None,
            last_error="",
        )  # fmt: skip
        IncidentEvent.objects.create(
            incident=incident, kind=IncidentEvent.Kind.PAGED, at=timezone.now(),
            actor="nzila_ops", source=delivery.notifier,
            detail=f"{delivery.notifier}: {event.kind} delivered",
        )  # fmt: skip
    # Later transitions that waited for this one.
    later = Delivery.objects.filter(
        notifier=delivery.notifier, status=Delivery.Status.PENDING,
        event__incident_id=incident.pk, event_id__gt=event.pk,
    ).order_by("event_id")  # fmt: skip
    following = later.values_list("pk", flat=True).first()
    if following is not None:
        send_delivery(following)
    return "sent"


def _failed(
    delivery: Delivery, event: IncidentEvent, detail: str, transient: bool, attempts: int
) -> str:
    config = get_config()
    detail = detail[:1000]
    if transient and attempts < int(config["INCIDENT_DELIVERY_MAX_ATTEMPTS"]):
        wait = min(float(config["INCIDENT_DELIVERY_RETRY_SECONDS"]) * 2 ** (attempts - 1),
                   MAX_BACKOFF_SECONDS)  # fmt: skip
        Delivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=timezone.now() + timedelta(seconds=wait), last_error=detail
        )
        logger.warning("%s: %s of incident #%s not delivered (attempt %s), retried in %.0f s: %s",
                       delivery.notifier, event.kind, event.incident_id, attempts, wait,
                       detail)  # fmt: skip
        return "retry"
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.FAILED, next_attempt_at=None, last_error=detail
        )
        why = f"gave up after {attempts} attempts" if transient else "refused"
        IncidentEvent.objects.create(
            incident_id=event.incident_id, kind=IncidentEvent.Kind.PAGE_FAILED,
            at=timezone.now(), actor="nzila_ops", source=delivery.notifier,
            detail=f"{delivery.notifier}: {event.kind} not delivered ({why}): {detail}",
        )  # fmt: skip
    logger.error("%s: %s of incident #%s FAILED for good: %s", delivery.notifier, event.kind,
                 event.incident_id, detail)  # fmt: skip
    return "failed"


def describe_transition(incident: Incident, event: IncidentEvent) -> tuple[str, str]:
    """(subject, body) of a transition, in words, for text backends (e-mail, chat)."""
    severity = Severity(incident.severity)
    kind = IncidentEvent.Kind
    what = {
        kind.OPENED: "opened",
        kind.ACKNOWLEDGED: f"acknowledged by {event.actor or event.source}",
        kind.RESOLVED: f"resolved by {event.actor or event.source}",
        kind.REOPENED: "REOPENED",
        kind.SEVERITY_CHANGED: f"now {event.severity}",
    }.get(event.kind, event.kind)
    drill = "[DRILL] " if incident.is_drill else ""
    number = f"#{incident.pk}" if incident.pk else "(NOT RECORDED)"
    subject = f"{drill}{severity} incident {number} {what}: {incident.title}"
    lines = [
        incident.title,
        "",
        f"Incident: {number}, {incident.status}",
        f"Severity: {severity} ({severity.label})",
        f"Component: {incident.component}",
        f"Source: {incident.source}",
        f"Detected: {incident.detected_at:%Y-%m-%d %H:%M:%S %Z}",
    ]
    if incident.acknowledged_at:
        lines.append(
            f"Acknowledged: {incident.acknowledged_at:%Y-%m-%d %H:%M:%S %Z} by "
            f"{incident.acknowledged_by}"
        )
    if incident.resolved_at:
        lines.append(
            f"Resolved: {incident.resolved_at:%Y-%m-%d %H:%M:%S %Z} by {incident.resolved_by}"
        )
    if event.detail:
        lines += ["", event.detail]
    return subject, "\n".join(lines) + "\n"
