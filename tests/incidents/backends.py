"""Incident notifier backends a host might write, for the tests: one that records what it was
given, failing on demand (transiently or for good)."""

from __future__ import annotations

import threading
from typing import ClassVar

from nzila_ops.incidents.notifiers import DeliveryFailed, IncidentNotifier
from nzila_ops.models import Incident, IncidentEvent


class RecordingNotifier(IncidentNotifier):
    name = "recording"
    #: (incident pk, event kind) per successful delivery, in order.
    delivered: ClassVar[list[tuple[int, str]]] = []
    #: Failures still to raise, first one first: True = transient, False = permanent.
    failures: ClassVar[list[bool]] = []
    attempts: ClassVar[int] = 0

    @classmethod
    def reset(cls, failures: list[bool] | None = None) -> None:
        cls.delivered, cls.failures, cls.attempts = [], list(failures or []), 0

    def deliver(self, incident: Incident, event: IncidentEvent) -> None:
        type(self).attempts += 1
        if self.failures:
            transient = self.failures.pop(0)
            raise DeliveryFailed("503 Service Unavailable" if transient else "400 bad key",
                                 transient=transient)  # fmt: skip
        self.delivered.append((incident.pk, event.kind))


class UnconfiguredNotifier(IncidentNotifier):
    name = "unconfigured"

    def configured(self) -> bool:
        return False

    def deliver(self, incident: Incident, event: IncidentEvent) -> None:
        raise AssertionError("an unconfigured notifier is never called")


class BlockingNotifier(IncidentNotifier):
    """Fails its first delivery for a while (so it waits for a retry), then holds each
    delivery until the test releases it: a send in progress, for a second worker to meet."""

    name = "blocking"
    entered = threading.Event()
    release = threading.Event()
    delivered: ClassVar[list[tuple[int, str]]] = []
    calls: ClassVar[int] = 0

    @classmethod
    def reset(cls) -> None:
        cls.entered.clear()
        cls.release.clear()
        cls.delivered, cls.calls = [], 0

    def deliver(self, incident: Incident, event: IncidentEvent) -> None:
        type(self).calls += 1
        if self.calls == 1:
            raise DeliveryFailed("503 Service Unavailable", transient=True)
        self.entered.set()
        assert self.release.wait(30), "the test never released the delivery"
        self.delivered.append((incident.pk, event.kind))
