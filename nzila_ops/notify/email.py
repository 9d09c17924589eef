"""Email through Django's mail settings (EMAIL_BACKEND, EMAIL_HOST, DEFAULT_FROM_EMAIL...)."""

from __future__ import annotations

import smtplib
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mail

from nzila_ops.conf import get_config
from nzila_ops.incidents.notifiers import DeliveryFailed, IncidentNotifier, describe_transition
from nzila_ops.notify import Notification, Notifier

if TYPE_CHECKING:
    from nzila_ops.models import Incident, IncidentEvent


def recipients() -> list[str]:
    configured = list(get_config()["NOTIFY_EMAILS"])
    return configured or [email for _name, email in getattr(settings, "ADMINS", [])]


class EmailNotifier(Notifier):
    subject_prefix = "[nzila_ops] "

    def send(self, notification: Notification) -> None:
        to = recipients()
        if not to:
            return  # nobody to tell; the log line and the record remain
        send_mail(
            self.subject_prefix + notification.subject,
            notification.body(),
            None,  # DEFAULT_FROM_EMAIL
            to,
            fail_silently=False,
        )


class EmailIncidentNotifier(IncidentNotifier):
    """Incident transitions by e-mail to NOTIFY_EMAILS (default: settings.ADMINS)."""

    name = "email"
    subject_prefix = "[nzila_ops] "

    def configured(self) -> bool:
        return bool(recipients())

    def deliver(self, incident: Incident, event: IncidentEvent) -> None:
        subject, body = describe_transition(incident, event)
        try:
            send_mail(self.subject_prefix + subject, body, None, recipients(), fail_silently=False)
        except (OSError, smtplib.SMTPException) as exc:
            # A refused recipient list will not improve by waiting; the rest (server down,
            # timeouts, 4xx replies) may.
            permanent = isinstance(exc, smtplib.SMTPRecipientsRefused)
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}", transient=not permanent) from exc
