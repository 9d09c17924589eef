"""The SLA report page in the admin: who sees it, what it shows, its CSV, a bad period."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from nzila_ops.models import ComponentFlip, DrillRecord, Incident

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
OUTAGE = datetime(2026, 10, 10, 10, 0, tzinfo=UTC)
URL = "/admin/nzila_ops/slareport/"


@pytest.fixture(autouse=True)
def sla_settings(settings: Any) -> Iterator[Any]:
    settings.NZILA_OPS = {**settings.NZILA_OPS,
                          "SLA": {"COMPONENTS": ["database", "payments_api"]}}  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        yield settings


@pytest.fixture
def history() -> Incident:
    """Both components seen from September; the database down for one hour in October."""
    for component in ("database", "payments_api"):
        ComponentFlip.objects.create(component=component, old="", new="ok",
                                     at=datetime(2026, 9, 1, tzinfo=UTC))  # fmt: skip
    ComponentFlip.objects.create(component="database", old="ok", new="failing", at=OUTAGE)
    ComponentFlip.objects.create(component="database", old="failing", new="ok",
                                 at=OUTAGE + timedelta(hours=1))  # fmt: skip
    DrillRecord.objects.create(
        database_alias="default", started_at=OUTAGE, finished_at=OUTAGE, rto_seconds=1800,
        rto_target_seconds=3600, result="passed",
    )  # fmt: skip
    return Incident.objects.create(
        severity="P0", status="resolved", component="database", title="database is DOWN",
        source="health", key="database", detected_at=OUTAGE,
        acknowledged_at=OUTAGE + timedelta(minutes=20), resolved_at=OUTAGE + timedelta(hours=1),
    )  # fmt: skip


def staff(django_user_model: Any, *, allowed: bool, username: str = "ops") -> Any:
    user = django_user_model.objects.create_user(username, password="pw", is_staff=True)
    if allowed:
        user.user_permissions.add(Permission.objects.get(codename="view_sla_report"))
    return user


@pytest.fixture
def reader(client: Any, django_user_model: Any) -> Any:
    client.force_login(staff(django_user_model, allowed=True))
    return client


def test_the_url_is_the_admins_changelist_of_sla_reports() -> None:
    assert reverse("admin:nzila_ops_slareport_changelist") == URL


def test_staff_without_the_permission_get_403_and_no_link(
    client: Any, django_user_model: Any
) -> None:
    client.force_login(staff(django_user_model, allowed=False))
    assert client.get(URL).status_code == 403
    assert client.get(URL + "?format=csv").status_code == 403
    assert "SLA report" not in client.get("/admin/").content.decode()


def test_anonymous_and_non_staff_users_are_sent_to_the_login(
    client: Any, django_user_model: Any
) -> None:
    assert client.get(URL)["Location"].startswith("/admin/login/")
    user = django_user_model.objects.create_user("customer", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="view_sla_report"))
    client.force_login(user)
    assert client.get(URL)["Location"].startswith("/admin/login/")


def test_with_the_permission_the_report_of_the_current_month_is_shown(
    reader: Any, history: Incident
) -> None:
    response = reader.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "SLA report 2026-11" in html
    assert '<option value="2026-11" selected>' in html
    assert reverse("admin:nzila_ops_slareport_changelist") in reader.get("/admin/").content.decode()
    # One bar per day of November so far and to come, per row (overall, database, payments_api).
    svgs = re.findall(r"<svg class=\"bars\".*?</svg>", html, flags=re.DOTALL)
    assert [svg.count("<rect") for svg in svgs] == [30, 30, 30]
    assert "2026-11-21: no data" in svgs[0] and "2026-11-20: 100.0 % uptime" in svgs[0]


def test_a_past_month_shows_uptime_missed_incidents_and_data_protection(
    reader: Any, history: Incident
) -> None:
    html = reader.get(URL + "?period=2026-10").content.decode()
    rows = {
        cells[0]: cells[1:]
        for cells in (
            re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.DOTALL)
            for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.DOTALL)
        )
        if cells
    }
    # 3,600 s down of October's 2,678,400: 99.865 % (floored), 2,678.4 s allowed, 134.41 % used
    # (shown rounded up: 134.5 %).
    assert rows["database"][:5] == ["99.865 %", "1 h 00 min", "44 min 38 s", "134.5 %", "MISSED"]
    assert rows["payments_api"][:5] == ["100.000 %", "0 s", "44 min 38 s", "0.0 %", "met"]
    assert rows["overall"][0] == "99.865 %"
    assert "Service credit: <strong>10 %</strong>" in html
    assert f'<a href="/admin/nzila_ops/incident/{history.pk}/change/">#{history.pk}</a>' in html
    assert "database is DOWN" in html and "respond (20 min 00 s)" in html
    assert "RTO latest 30 min 00 s, worst 30 min 00 s, target 1 h 00 min" in html
    assert "not measured" in html  # no Prometheus configured: latency is never invented


def test_a_quarter_lists_its_months_and_their_credits(reader: Any, history: Incident) -> None:
    html = reader.get(URL + "?period=2026-Q4").content.decode()
    assert "SLA report 2026-Q4" in html and "Months (credits are monthly)" in html
    assert "Service credit: <strong>per month, below</strong>" in html
    assert "<tr><td>2026-10</td><td>99.865 %</td><td>10 %</td></tr>" in html


def test_the_csv_export_is_the_reports_uptime_table(reader: Any, history: Incident) -> None:
    response = reader.get(URL + "?period=2026-10&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="sla-2026-10.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["component"] for r in rows] == ["overall", "database", "payments_api"]
    database = rows[1]
    assert database["period"] == "2026-10"
    assert (database["down_seconds"], database["allowed_downtime_seconds"]) == (
        "3600.000", "2678.400")  # fmt: skip
    assert float(database["uptime_percent"]) == pytest.approx(100 * (1 - 3600 / 2678400))
    assert (database["met"], rows[2]["met"]) == ("no", "yes")


@pytest.mark.parametrize("period", ["2026-13", "yesterday", "20261", "10000", "2026-Q5", "\x00"])
def test_a_bad_period_says_so_and_shows_the_current_month(reader: Any, period: str) -> None:
    response = reader.get(URL, {"period": period})
    assert response.status_code == 200
    html = response.content.decode()
    assert "SLA report 2026-11" in html
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1 and messages[0].endswith("showing 2026-11 instead.")
    assert "is not a month" in messages[0] or "the month must be 01 to 12" in messages[0]


def test_there_is_no_add_change_or_delete_page(reader: Any) -> None:
    for path in ("add/", "1/change/", "1/delete/", "1/history/"):
        assert reader.get(URL + path).status_code == 404


def test_a_long_list_of_missed_incidents_is_cut_and_says_where_the_rest_is(reader: Any) -> None:
    Incident.objects.bulk_create(
        Incident(
            severity="P2",
            status="resolved",
            component="database",
            title=f"fault {i}",
            source="health",
            key=f"database#{i}",
            detected_at=OUTAGE + timedelta(minutes=i),
            resolved_at=OUTAGE + timedelta(days=1),
        )
        for i in range(205)
    )
    html = reader.get(URL + "?period=2026-10").content.decode()
    assert html.count('/change/">#') == 200
    assert "And 5 more: <code>manage.py sla_report --period 2026-10</code> lists them all." in html
