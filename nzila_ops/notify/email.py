"""Email through Django's mail settings (EMAIL_BACKEND, EMAIL_HOST, DEFAULT_FROM_EMAIL...)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from nzila_ops.conf import get_config
from nzila_ops.notify import Notification, Notifier


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
