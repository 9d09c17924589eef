"""Incident SLA per severity, hand-computed from incidents with known times."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

import pytest

from nzila_ops.models import Incident
from nzila_ops.sla.incident_sla import incident_figures
from tests.sla.helpers import utc

pytestmark = pytest.mark.django_db
JAN, FEB = utc(2026, 1, 1), utc(2026, 2, 1)
NOW = utc(2026, 3, 1)
_keys = count()


def incident(severity: str, detected: datetime, opened_after: float, acked_after: float | None,
             resolved_after: float | None, drill: bool = False) -> Incident:  # fmt: skip
    """Times in minutes after ``detected``."""
    minutes = lambda m: None if m is None else detected + timedelta(minutes=m)  # noqa: E731
    item = Incident.objects.create(
        severity=severity, component="api", title=f"{severity} at {detected:%d %H:%M}",
        source="health", key=f"k{next(_keys)}", detected_at=detected, is_drill=drill,
        status="resolved" if resolved_after is not None else "triggered",
        acknowledged_at=minutes(acked_after), resolved_at=minutes(resolved_after),
    )  # fmt: skip
    # created_at is auto_now_add: set the opening time afterwards.
    Incident.objects.filter(pk=item.pk).update(created_at=minutes(opened_after))
    return item


def test_shares_mtta_mttr_and_the_missed_list_per_severity() -> None:
    # P0 targets: detect 5 min, respond 5 min, resolve 60 min.
    incident("P0", utc(2026, 1, 5, 10), 2, 4, 50)  # met all
    late = incident("P0", utc(2026, 1, 6, 10), 3, 12, 90)  # respond and resolve missed
    incident("P0", utc(2026, 1, 7, 10), 1, 2, 30, drill=True)  # a drill: not counted
    # P1: detect 5, respond 30, resolve 240.
    slow = incident("P1", utc(2026, 1, 8, 10), 7, 20, 100)  # detect missed
    incident("P1", utc(2025, 12, 31, 23), 1, 1, 1)  # detected before the period
    figures = incident_figures(JAN, FEB, NOW)
    p0, p1, p2, _ = figures.by_severity
    assert (p0.count, p1.count, p2.count, figures.count) == (2, 1, 0, 3)
    assert (p0.detect.met, p0.respond.met, p0.respond.missed, p0.resolve.missed) == (2, 1, 1, 1)
    assert p0.respond.met_percent == 50.0
    assert (p0.mtta_seconds, p0.mttr_seconds) == ((4 + 12) / 2 * 60, (50 + 90) / 2 * 60)
    assert (p1.detect.met_percent, p1.respond.met_percent) == (0.0, 100.0)
    assert p2.detect.met_percent is None  # nothing due: not 100 %
    assert figures.mtta_seconds == (4 + 12 + 20) / 3 * 60
    assert figures.mttr_seconds == (50 + 90 + 100) / 3 * 60
    missed = {m.id: m.missed for m in figures.missed}
    assert missed == {late.pk: ("respond", "resolve"), slow.pk: ("detect",)}
    assert next(m for m in figures.missed if m.id == late.pk).seconds["respond"] == 720


def test_an_incident_resolved_before_anyone_acknowledged_it_has_responded() -> None:
    # A flap: back up 3 min after detection, never acknowledged. Respond is met (3 <= 5);
    # MTTA has no acknowledgement to average.
    incident("P0", utc(2026, 1, 5, 10), 1, None, 3)
    p0 = incident_figures(JAN, FEB, NOW).by_severity[0]
    assert (p0.respond.met, p0.resolve.met, p0.mtta_seconds, p0.mttr_seconds) == (1, 1, None, 180)


def test_an_open_incident_is_pending_until_its_target_passes_then_missed() -> None:
    detected = utc(2026, 1, 31, 23, 50)
    item = incident("P1", detected, 1, None, None)
    early = incident_figures(JAN, FEB, detected + timedelta(minutes=20)).by_severity[1]
    assert (early.respond.pending, early.respond.missed, early.resolve.pending) == (1, 0, 1)
    assert early.respond.met_percent is None
    later = incident_figures(JAN, FEB, detected + timedelta(minutes=31))
    p1 = later.by_severity[1]
    assert (p1.respond.missed, p1.resolve.pending) == (1, 1)
    assert [(m.id, m.missed, m.seconds["respond"]) for m in later.missed] == [
        (item.pk, ("respond",), None)
    ]


def test_targets_come_from_the_setting(settings) -> None:  # type: ignore[no-untyped-def]
    settings.NZILA_OPS = {
        **settings.NZILA_OPS, "SLA": {"INCIDENT_TARGETS": {"P3": {"RESPOND": 10}}}
    }  # fmt: skip
    incident("P3", utc(2026, 1, 5, 10), 1, 15, 100)
    p3 = incident_figures(JAN, FEB, NOW).by_severity[3]
    assert (p3.respond.target_seconds, p3.respond.missed) == (600, 1)
    # Left out: the defaults (detect 60 min, resolve 3 days).
    assert (p3.detect.target_seconds, p3.resolve.target_seconds) == (3600, 3 * 86400)
