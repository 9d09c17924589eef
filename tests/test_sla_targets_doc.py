"""docs/SLA_TARGETS.md says what the code does: its tables equal the defaults, its allowed
downtimes equal the computation, and its worked example is what the report computes."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nzila_ops.conf import DEFAULTS
from nzila_ops.models import ComponentFlip, Incident, MaintenanceWindow
from nzila_ops.sla.latency import API_P95_TARGET_SECONDS, DB_QUERY_P95_TARGET_SECONDS
from nzila_ops.sla.periods import parse_period
from nzila_ops.sla.report import allowed_downtime, build_report
from tests.sla.helpers import utc

DOC = (Path(__file__).resolve().parents[1] / "docs" / "SLA_TARGETS.md").read_text()
SLA = DEFAULTS["SLA"]


def table(after: str) -> list[list[str]]:
    """The rows (cells stripped) of the first Markdown table after the line holding ``after``."""
    lines = DOC[DOC.index(after) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def number(text: str) -> float:
    return float(re.sub(r"[^\d.]", "", text.split()[0].replace(",", "")))


def test_the_target_is_the_default() -> None:
    assert f"**Availability: {SLA['TARGET_PERCENT']:g} % a month.**" in DOC


def test_the_allowed_downtimes_are_computed_ones() -> None:
    rows = table("The downtime it allows")
    assert len(rows) == 5
    for _, length, allowed in rows:
        seconds = number(length) * 86400
        shown = allowed.split()[0]
        decimals = len(shown.split(".")[1]) if "." in shown else 0
        computed = allowed_downtime(SLA["TARGET_PERCENT"], seconds) / 60
        assert f"{computed:.{decimals}f}" == shown, (length, computed)


def test_the_dst_months_are_computed_ones() -> None:
    london = ZoneInfo("Europe/London")
    march, october = parse_period("2026-03", london), parse_period("2026-10", london)
    assert f"March 31 days less 1 hour, {allowed_downtime(99.9, march.seconds) / 60:.2f} min" in DOC
    assert (
        f"October 31 days and 1 hour, {allowed_downtime(99.9, october.seconds) / 60:g} min" in DOC
    )


def test_the_credit_table_is_the_default() -> None:
    rows = [[number(below), number(credit)] for below, credit in table("Service credits")]
    assert rows == [[float(b), float(c)] for b, c in SLA["CREDITS"]]


def test_the_incident_targets_are_the_defaults() -> None:
    rows = {
        severity: {"DETECT": number(d), "RESPOND": number(r), "RESOLVE": number(f)}
        for severity, d, r, f in table("**Incident response**")
    }
    assert rows == SLA["INCIDENT_TARGETS"]


def test_data_protection_and_latency_targets_are_the_defaults() -> None:
    assert f"(`RPO_TARGET_SECONDS`, {DEFAULTS['RPO_TARGET_SECONDS']})" in DOC
    assert f"(`RTO_TARGET_SECONDS`, {DEFAULTS['RTO_TARGET_SECONDS']})" in DOC
    assert f"p95 API response under {API_P95_TARGET_SECONDS * 1000:.0f} ms" in DOC
    assert f"p95 database query\nunder {DB_QUERY_P95_TARGET_SECONDS * 1000:.0f} ms" in DOC


def _flips(component: str, *changes: tuple[Any, str]) -> None:
    old = ""
    for at, new in changes:
        ComponentFlip.objects.create(component=component, old=old, new=new, at=at)
        old = new


@pytest.mark.django_db
def test_the_worked_example_is_what_the_report_computes(settings: Any) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"COMPONENTS": ["api", "database"]}}
    _flips("api", (utc(2025, 12, 1), "ok"), (utc(2026, 1, 12, 10), "failing"),
           (utc(2026, 1, 12, 10, 40), "ok"))  # fmt: skip
    _flips("database", (utc(2025, 12, 1), "ok"), (utc(2026, 1, 3, 2, 30), "failing"),
           (utc(2026, 1, 3, 3), "ok"), (utc(2026, 1, 12, 10, 20), "failing"),
           (utc(2026, 1, 12, 11), "ok"))  # fmt: skip
    MaintenanceWindow.objects.create(
        starts_at=utc(2026, 1, 3, 2), ends_at=utc(2026, 1, 3, 4), reason="upgrade"
    )
    detected = utc(2026, 1, 12, 10, 20)
    incident = Incident.objects.create(
        severity="P1", status="resolved", component="database", title="database down",
        source="health", key="health:database", detected_at=detected,
        acknowledged_at=detected + timedelta(minutes=35),
        resolved_at=detected + timedelta(minutes=45),
    )  # fmt: skip
    Incident.objects.filter(pk=incident.pk).update(created_at=detected + timedelta(minutes=3))
    report = build_report(parse_period("2026-01"))
    rows = {row[0]: row for row in table("| row | observed")}
    for row in [report.overall, *report.components]:
        _, observed, down, uptime, allowed, used, verdict = rows[row.component]
        availability = row.availability
        assert number(observed) == availability.observed_seconds / 60
        assert number(down) == row.down_seconds / 60
        assert uptime == f"{row.uptime_percent:.3f} %"
        assert allowed == f"{row.allowed_downtime_seconds / 60:.2f} min"
        assert used == f"{row.budget_used_percent:.1f} %"
        assert verdict == ("met" if row.met else "missed")
    assert f"a **{report.credit.credit_percent:g} %** credit for January" in DOC
    assert (
        f"The period's allowed downtime is {report.allowed_downtime_seconds / 60:.2f} minutes"
        in DOC
    )
    p1 = report.incidents.by_severity[1]
    assert (p1.detect.met, p1.respond.missed, p1.resolve.met) == (1, 1, 1)
    assert [m.missed for m in report.incidents.missed] == [("respond",)]
    assert f"MTTA {p1.mtta_seconds / 60:.0f} min, MTTR {p1.mttr_seconds / 60:.0f} min" in DOC
