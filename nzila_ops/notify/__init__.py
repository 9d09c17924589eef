"""Informational notifications (a backup succeeded, the daily digest, a restore succeeded):
pluggable backends, e-mail first. Failures are incidents, delivered by the incident notifiers
(nzila_ops.incidents.notifiers), not by these."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.module_loading import import_string

from nzila_ops.conf import get_config
from nzila_ops.events import Severity

logger = logging.getLogger("nzila_ops.notify")


@dataclass(frozen=True)
class Notification:
    """What happened, to which database, why, and what to do next."""

    kind: str  # backup_failed, backup_succeeded, backup_digest, restore_succeeded, ...
    subject: str
    summary: str
    database: str = ""
    # The one vocabulary (nzila_ops.events); None: informational, not a fault.
    severity: Severity | None = None
    error: str = ""
    next_step: str = ""
    at: datetime | None = None
    details: dict[str, str] = field(default_factory=dict)

    def body(self) -> str:
        lines = [self.summary, ""]
        if self.database:
            lines.append(f"Database: {self.database}")
        if self.at:
            lines.append(f"When: {self.at:%Y-%m-%d %H:%M:%S %Z}")
        lines += [f"{key}: {value}" for key, value in self.details.items()]
        if self.error:
            lines += ["", f"Error: {self.error}"]
        if self.next_step:
            lines += ["", f"Next step: {self.next_step}"]
        return "\n".join(lines) + "\n"


class Notifier:
    """Base class: a backend sends one notification or raises."""

    def send(self, notification: Notification) -> None:
        raise NotImplementedError


def notify(notification: Notification) -> int:
    """Send through every configured backend. Returns how many succeeded.

    A backend that fails is logged and skipped: a notification problem never fails the
    backup, restore or drill it reports on."""
    sent = 0
    for path in get_config()["NOTIFIERS"]:
        try:
            import_string(path)().send(notification)
            sent += 1
        except Exception:
            logger.exception("notifier %s could not send %r", path, notification.subject)
    return sent
