"""The incident and delivery lists read like the other pages: severity and status as badges,
times in local time with their zone and age."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from nzila_ops.models import Incident


@pytest.mark.django_db
def test_incidents_show_badges_and_when_they_were_detected(admin_client: Client) -> None:
    Incident.objects.create(title="payments down", severity="P0", status="triggered",
                            component="payments_api", key="k",
                            detected_at=timezone.now() - timedelta(minutes=7))  # fmt: skip
    page = admin_client.get("/admin/nzila_ops/incident/").content.decode()
    assert re.search(r"ops-badge--p0 ops-tone--bad[^>]*>P0<", page)
    assert re.search(r"ops-badge--triggered[^>]*>triggered<", page)
    assert re.search(r"UTC</time> <span class=\"ops-age\">\(7 min 0\d s ago\)", page)
    assert admin_client.get("/admin/nzila_ops/delivery/?status=all").status_code == 200


@pytest.mark.django_db
def test_an_alert_drill_is_a_badge_beside_its_status_not_a_column(admin_client: Client) -> None:
    Incident.objects.create(title="drill of the pager", severity="P3", status="triggered",
                            component="database", key="d", is_drill=True,
                            detected_at=timezone.now())  # fmt: skip
    page = admin_client.get("/admin/nzila_ops/incident/").content.decode()
    assert re.search(r"ops-badge--drill[^>]*>alert drill<", page)
    assert "column-is_drill" not in page
