"""Component states, their flips and the RPO watch's state have read-only admin pages, with
badges; a state not sampled within HEALTH_SAMPLE_GAP_SECONDS shows as unknown."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from nzila_ops.models import ComponentFlip, ComponentState, RpoState


@pytest.mark.django_db
def test_component_states_flips_and_rpo_state_are_listed_with_badges(
    admin_client: Client,
) -> None:
    now = timezone.now()
    ComponentState.objects.create(component="redis", status="failing", since=now,
                                  last_sampled_at=now, reason="connection refused")  # fmt: skip
    ComponentState.objects.create(component="celery", status="ok", since=now,
                                  last_sampled_at=now - timedelta(minutes=10))  # fmt: skip
    ComponentFlip.objects.create(component="redis", old="", new="ok", at=now - timedelta(hours=1))
    ComponentFlip.objects.create(component="redis", old="ok", new="failing", at=now)
    RpoState.objects.create(database_alias="default", breached=True, since=now,
                            last_checked_at=now, newest_backup="default-x")  # fmt: skip

    states = admin_client.get("/admin/nzila_ops/componentstate/").content.decode()
    assert re.search(r"ops-badge--failing[^>]*>failing<", states) and "connection refused" in states
    assert re.search(r'ops-badge--unknown[^>]*title="last sampled as ok"', states)

    flips = admin_client.get("/admin/nzila_ops/componentflip/").content.decode()
    assert "(first sample)" in flips and re.search(r"ops-badge--failing[^>]*>failing<", flips)

    rpo = admin_client.get("/admin/nzila_ops/rpostate/").content.decode()
    assert re.search(r"ops-badge--breached[^>]*>breached<", rpo) and "default-x" in rpo

    for model in ("componentstate", "componentflip", "rpostate"):
        assert admin_client.get(f"/admin/nzila_ops/{model}/add/").status_code == 403
        row = {"componentstate": ComponentState, "componentflip": ComponentFlip,
               "rpostate": RpoState}[model].objects.first()  # fmt: skip
        detail = admin_client.get(f"/admin/nzila_ops/{model}/{row.pk}/change/")
        assert detail.status_code == 200 and 'type="submit" value="Save"' not in (
            detail.content.decode()
        )
