"""One rule for times on our admin pages (nzila_ops.formats): the site's local time with its
zone named, and the age ("2026-11-29 19:44:37 UTC (3 h 12 min ago)"), never Django's
"Nov. 29, 2026, 8:26 p.m." with no zone. And a page's message names an incident as it is
after the operator's action, not before it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from nzila_ops.formats import local_time
from nzila_ops.incidents import service
from nzila_ops.models import Delivery, MaintenanceWindow
from tests.incidents.test_admin import change_form, open_one

pytestmark = pytest.mark.postgres

INCIDENTS = "/admin/nzila_ops/incident/"


def assert_shown_with_zone_and_age(page: str, *moments: Any) -> None:
    for moment in moments:
        assert local_time(moment) in page, f"{local_time(moment)} is not on the page"
    assert "ago)" in page
    # Django's own rendering of a datetime ("8:26 p.m.", "midnight", "noon").
    for word in ("a.m.", "p.m.", "midnight", "noon"):
        assert word not in page


def test_after_acknowledging_on_its_page_the_message_names_the_incident_acknowledged(
    transactional_db: Any, admin_client: Any
) -> None:
    incident = open_one(severity="P1")
    response = admin_client.post(
        f"{INCIDENTS}{incident.pk}/change/",
        change_form(incident, transition="acknowledge"),
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1
    assert f"#{incident.pk} P1 acknowledged: database is DOWN" in messages[0]
    assert "triggered" not in messages[0]


def test_the_incident_page_and_its_timeline_show_times_with_zone_and_age(
    transactional_db: Any, admin_client: Any
) -> None:
    now = timezone.now()
    incident = open_one(detected_at=now - timedelta(hours=2))
    service.acknowledge(incident, by="amara", at=now - timedelta(hours=1, minutes=50))
    service.resolve(incident, by="amara", at=now - timedelta(hours=1))
    incident.refresh_from_db()
    page = admin_client.get(f"{INCIDENTS}{incident.pk}/change/").content.decode()
    assert_shown_with_zone_and_age(
        page, incident.detected_at, incident.acknowledged_at, incident.resolved_at
    )
    event = incident.events.get(kind="acknowledged")
    assert local_time(event.at) in page


def test_a_delivery_page_shows_its_times_with_zone_and_age(
    transactional_db: Any, admin_client: Any
) -> None:
    open_one()
    Delivery.objects.update(created_at=timezone.now() - timedelta(minutes=7))
    delivery = Delivery.objects.first()
    assert delivery is not None  # the e-mail notifier's row of the opening
    page = admin_client.get(f"/admin/nzila_ops/delivery/{delivery.pk}/change/").content.decode()
    assert_shown_with_zone_and_age(page, delivery.created_at)
    assert f'href="{INCIDENTS}{delivery.event.incident_id}/change/"' in page


def test_maintenance_windows_show_their_times_with_zone_and_age(db: Any, admin_client: Any) -> None:
    starts = timezone.now() + timedelta(days=1)
    window = MaintenanceWindow.objects.create(
        starts_at=starts, ends_at=starts + timedelta(hours=2), reason="PostgreSQL 16 upgrade"
    )
    MaintenanceWindow.objects.filter(pk=window.pk).update(created_at=starts - timedelta(days=3))
    window.refresh_from_db()
    listing = admin_client.get("/admin/nzila_ops/maintenancewindow/").content.decode()
    for moment in (window.starts_at, window.ends_at):
        assert local_time(moment) in listing
    assert "in 1 d" in listing  # a window ahead reads as ahead
    page = admin_client.get(f"/admin/nzila_ops/maintenancewindow/{window.pk}/change/")
    assert_shown_with_zone_and_age(page.content.decode(), window.created_at)


def test_the_sla_report_says_when_it_was_generated_with_zone_and_age(
    db: Any, admin_client: Any
) -> None:
    page = admin_client.get("/admin/nzila_ops/slareport/").content.decode()
    generated = page.split("Generated ", 1)[1][:200]
    assert 'class="ops-time"' in generated and " UTC</time>" in generated
    assert "just now" in generated or "ago)" in generated
