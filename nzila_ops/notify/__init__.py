"""Notifications: pluggable backends (email first; PagerDuty comes with incidents)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.module_loading import import_string

from nzila_ops.conf import get_config

logger = logging.getLogger("nzila_ops.notify")


@dataclass(frozen=True)
class Notification:
    """What happened, to which database, why, and what to do next."""

    kind: str  # backup_failed, backup_succeeded, backup_digest, restore_succeeded, ...
    subject: str
    summary: str
    database: str = ""
    severity: str = "info"  # info, warning, critical
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
