"""An incident's public title (what the status page shows) is written on its admin page."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nzila_ops.incidents import service
from nzila_ops.models import Incident

pytestmark = pytest.mark.django_db


def test_the_public_title_is_written_alone_on_the_incident_page(admin_client: Any) -> None:
    incident, _ = service.open_incident(
        key="payments_api", component="payments_api", severity="P0", source="health",
        title="payments_api is DOWN: 10.0.3.7:5432 connection refused",
    )  # fmt: skip
    change = f"/admin/nzila_ops/incident/{incident.pk}/change/"
    assert b"Status page" in admin_client.get(change).content
    form = {"public_title": "Card payments failing", "summary": "", "root_cause": "",
            "follow_up_actions": "", "postmortem_url": "", "note": "",
            "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"}  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.post(change, form).status_code == 302
    writes = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "nzila_ops_incident"')]
    # Only that column: the status and times stay as the service last wrote them.
    assert len(writes) == 1 and '"public_title"' in writes[0] and '"status"' not in writes[0]
    incident.refresh_from_db()
    assert incident.public_title == "Card payments failing"
    assert Incident.objects.get(pk=incident.pk).title.startswith("payments_api is DOWN")
