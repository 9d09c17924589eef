"""Maintenance windows declared in the admin, and what the SLA report then leaves out."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from nzila_ops.models import MaintenanceWindow
from nzila_ops.sla.periods import parse_period
from nzila_ops.sla.uptime import availability
from tests.sla.helpers import history, utc

pytestmark = pytest.mark.django_db
ADD = "admin:nzila_ops_maintenancewindow_add"


def form(**values: str) -> dict[str, str]:
    return {"component": "", "starts_at_0": "2026-01-10", "starts_at_1": "02:00:00",
            "ends_at_0": "2026-01-10", "ends_at_1": "04:00:00", "reason": "PostgreSQL 16",
            **values}  # fmt: skip


def test_an_operator_declares_a_window_and_the_report_leaves_it_out(admin_client: Any) -> None:
    history("api", (utc(2025, 12, 1), "ok"), (utc(2026, 1, 10, 2, 30), "failing"),
            (utc(2026, 1, 10, 3), "ok"))  # fmt: skip
    response = admin_client.post(reverse(ADD), form())
    assert response.status_code == 302, response.content[:2000]
    window = MaintenanceWindow.objects.get()
    assert (window.component, window.created_by) == ("", "admin")
    assert (window.starts_at, window.ends_at) == (utc(2026, 1, 10, 2), utc(2026, 1, 10, 4))
    january = parse_period("2026-01")
    row = availability(["api"], january.start, january.end)["api"]
    # The 30-minute outage fell inside the declared window: no downtime, 2 h not observed.
    assert (row.down_seconds, row.maintenance_seconds) == (0, 7200)
    listing = admin_client.get(reverse("admin:nzila_ops_maintenancewindow_changelist"))
    assert b"(all components)" in listing.content and b"PostgreSQL 16" in listing.content


def test_a_window_ending_before_it_starts_is_refused_and_nothing_saved(admin_client: Any) -> None:
    response = admin_client.post(reverse(ADD), form(ends_at_1="01:00:00"))
    assert response.status_code == 200
    assert b"The window must end after it starts." in response.content
    assert not MaintenanceWindow.objects.exists()


def test_a_nul_in_the_list_filter_is_a_400(admin_client: Any) -> None:
    url = reverse("admin:nzila_ops_maintenancewindow_changelist")
    assert admin_client.get(url, {"component": "\x00"}).status_code == 400
