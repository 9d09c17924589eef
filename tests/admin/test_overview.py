"""The nzila_ops section of the admin opens on the operations overview (/admin/nzila_ops/):
health, the newest backup per database against the RPO, the last drill against the RTO, open
incidents by severity, this month's uptime against the SLA; each block only for a user who may
view what it summarises."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from nzila_ops.models import ComponentFlip, ComponentState, DrillRecord, Incident, RpoState
from tests.admin.conftest import make_backup

OVERVIEW = "/admin/nzila_ops/"
BLOCKS = ("ops-health", "ops-backups", "ops-drills", "ops-incidents", "ops-sla")


def block(page: str, name: str) -> str:
    """The HTML of one block of the overview ("" when it is not shown)."""
    match = re.search(rf'<section id="{name}".*?</section>', page, re.S)
    return match.group(0) if match else ""


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.django_db
def test_an_empty_install_shows_every_block_with_what_is_missing(admin_client: Client) -> None:
    page = admin_client.get(OVERVIEW).content.decode()
    assert 'id="ops-overview"' in page and "Operations overview" in page
    for name in BLOCKS:
        assert block(page, name), name
    assert "ops-badge--unknown" in block(page, "ops-health")  # configured, never sampled
    assert "never sampled" in block(page, "ops-health")
    backups = text(block(page, "ops-backups"))
    assert "no successful backup" in backups and "RPO breached" in backups
    assert "No drill has run yet" in block(page, "ops-drills")
    assert "No open incident." in block(page, "ops-incidents")
    sla = text(block(page, "ops-sla"))
    assert "unknown uptime" in sla and "target 99.9 %" in sla
    # The models' pages are still listed under the overview.
    assert "/admin/nzila_ops/backuprecord/" in page


@pytest.mark.django_db
def test_health_shows_each_component_and_unknown_once_not_sampled(
    admin_client: Client,
) -> None:
    now = timezone.now()
    ComponentState.objects.create(component="database", status="ok", since=now - timedelta(hours=2),
                                  last_sampled_at=now - timedelta(seconds=30))  # fmt: skip
    ComponentState.objects.create(component="redis", status="failing", since=now,
                                  last_sampled_at=now, reason="connection refused")  # fmt: skip
    # Last sampled an hour ago (over HEALTH_SAMPLE_GAP_SECONDS): its "ok" is no longer known.
    ComponentState.objects.create(component="celery", status="ok", since=now - timedelta(days=1),
                                  last_sampled_at=now - timedelta(hours=1))  # fmt: skip

    health = block(admin_client.get(OVERVIEW).content.decode(), "ops-health")

    rows = {m.group(1): m.group(0) for m in
            re.finditer(r'<tr class="ops-health-row"><th scope="row"><a [^>]*>([^<]+)</a>.*?</tr>',
                        health, re.S)}  # fmt: skip
    assert "ops-badge--ok " in rows["database"] and "2 h 00 min ago" in rows["database"]
    assert "ops-badge--failing" in rows["redis"] and "connection refused" in rows["redis"]
    assert "ops-badge--unknown" in rows["celery"] and "not sampled since" in rows["celery"]
    assert "UTC" in rows["database"]  # times say their zone
    # When each was last sampled, in its own column.
    sampled = re.search(r'data-label="last sampled"[^>]*>.*?</td>', rows["database"])
    assert sampled is not None and "30 s ago" in sampled.group(0)
    # What needs the operator first, first: failing, then not known, then ok.
    assert list(rows) == ["redis", "celery", "database"]


@pytest.mark.django_db
def test_backups_show_the_newest_good_backup_of_each_database_against_the_rpo(
    admin_client: Client, settings: Any
) -> None:
    now = timezone.now()
    settings.NZILA_OPS = {**settings.NZILA_OPS, "BACKUP_DATABASES": ["default", "sqlite"]}
    location = settings.NZILA_OPS["STORAGES"]["default"]
    manifest = {"storage": {"location": location}}
    make_backup("default-new", started_at=now - timedelta(minutes=4), manifest=manifest)
    make_backup("default-old", started_at=now - timedelta(hours=3), manifest=manifest)
    make_backup("default-failed", status="failed", started_at=now - timedelta(minutes=1))
    make_backup("sqlite-old", database_alias="sqlite", started_at=now - timedelta(minutes=25),
                manifest=manifest)  # fmt: skip

    backups = block(admin_client.get(OVERVIEW).content.decode(), "ops-backups")

    rows = re.findall(r'<tr class="ops-backup-row">.*?</tr>', backups.replace("-<wbr>", "-"), re.S)
    assert "default-new" in rows[0] and "RPO within" in text(rows[0])
    assert "1.2 MB" in rows[0] and "ops-badge--never" in rows[0]
    # 25 min old: past the 15 min target and its 5 min grace.
    assert "sqlite-old" in rows[1] and "RPO breached" in text(rows[1])
    assert "1 failed in the last 24 h" in text(backups)


@pytest.mark.django_db
def test_a_database_the_rpo_watch_holds_in_breach_is_shown_breached(
    admin_client: Client, settings: Any
) -> None:
    now = timezone.now()
    location = settings.NZILA_OPS["STORAGES"]["default"]
    make_backup("default-new", started_at=now - timedelta(minutes=17),
                manifest={"storage": {"location": location}})  # fmt: skip
    page = admin_client.get(OVERVIEW).content.decode()
    assert "RPO late" in text(block(page, "ops-backups"))  # 17 min: past target, within grace
    RpoState.objects.create(database_alias="default", breached=True, since=now, last_checked_at=now)
    page = admin_client.get(OVERVIEW).content.decode()
    assert "RPO breached" in text(block(page, "ops-backups"))


@pytest.mark.django_db
def test_the_last_drill_of_each_database_with_its_rto_against_the_target(
    admin_client: Client,
) -> None:
    now = timezone.now()
    for minutes, rto, result in ((60, 250, "passed"), (5, 4000, "failed")):
        DrillRecord.objects.create(
            backup_name="b", database_alias="default", started_at=now - timedelta(minutes=minutes),
            finished_at=now, rto_seconds=rto, rto_target_seconds=3600, result=result,
        )  # fmt: skip

    drills = text(block(admin_client.get(OVERVIEW).content.decode(), "ops-drills"))

    assert "failed" in drills and "missed 1 h 06 min of 1 h 00 min" in drills
    assert "4 min 10 s" not in drills  # the older drill is not the last one


@pytest.mark.django_db
def test_open_incidents_are_counted_by_severity_without_drills(admin_client: Client) -> None:
    now = timezone.now()
    for n, (severity, status, drill) in enumerate([
        ("P0", "triggered", False), ("P0", "acknowledged", False), ("P2", "triggered", False),
        ("P1", "resolved", False), ("P1", "triggered", True),
    ]):  # fmt: skip
        Incident.objects.create(title=f"i{n}", severity=severity, status=status, is_drill=drill,
                                component="redis", key=f"k{n}", detected_at=now)  # fmt: skip

    page = admin_client.get(OVERVIEW).content.decode()
    incidents = block(page, "ops-incidents")

    counts = dict(re.findall(r"ops-severity--(P\d).*?ops-count\">(\d+)<", incidents, re.S))
    assert counts == {"P0": "2", "P1": "0", "P2": "1", "P3": "0"}
    link = re.search(r'ops-severity--P0"><a href="([^"]+)"', incidents).group(1)
    listed = admin_client.get(link.replace("&amp;", "&")).content.decode()
    assert listed.count('class="field-title"') == 2 and "i0" in listed and "i1" in listed


@pytest.mark.django_db
def test_this_month_s_uptime_against_the_sla_links_to_the_report_and_status_page(
    admin_client: Client,
) -> None:
    now = timezone.now()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    ComponentFlip.objects.create(component="database", old="", new="ok", at=start)
    ComponentFlip.objects.create(component="database", old="ok", new="failing",
                                 at=now - timedelta(minutes=10))  # fmt: skip
    ComponentState.objects.create(component="database", status="failing", since=now,
                                  last_sampled_at=now)  # fmt: skip

    sla = block(admin_client.get(OVERVIEW).content.decode(), "ops-sla")

    assert "Down 10 min" in text(sla)
    assert 'href="/admin/nzila_ops/slareport/"' in sla and 'href="/ops/status/"' in sla


@pytest.mark.django_db
def test_a_user_sees_only_the_blocks_of_what_they_may_view(
    staff_client: Callable[..., Client],
) -> None:
    client = staff_client("nzila_ops.view_backuprecord", "nzila_ops.view_incident")
    page = client.get(OVERVIEW).content.decode()
    assert block(page, "ops-backups") and block(page, "ops-incidents")
    for name in ("ops-health", "ops-drills", "ops-sla"):
        assert not block(page, name), name


@pytest.mark.django_db
def test_staff_without_any_nzila_ops_permission_gets_no_overview(
    staff_client: Callable[..., Client], client: Client
) -> None:
    assert staff_client().get(OVERVIEW).status_code == 404
    response = client.get(OVERVIEW)  # not logged in: the login page
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_a_block_that_cannot_be_computed_says_why_and_the_page_still_answers(
    admin_client: Client, settings: Any
) -> None:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "STORAGES": {"default": "ftp://nowhere/x"}}
    response = admin_client.get(OVERVIEW)
    assert response.status_code == 200
    backups = block(response.content.decode(), "ops-backups")
    assert 'class="ops-error"' in backups and "ftp" in backups
