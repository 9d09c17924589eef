"""An operator in Chromium: logs in through the login form, acknowledges an incident in its
admin page, reads the SLA report; a customer reads the public status page. Each page is
screenshotted for the docs (docs/img/, with NZILA_SCREENSHOTS=1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_overview import out_of_reach
from tests.support.browser_stack import PASSWORD, SUPERUSER, Stack

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres]

Shoot = Callable[[Any, str], Path]
# How many rules the page holds from the stylesheet at this path (0: not loaded).
STYLESHEET_RULES = """path => [...document.styleSheets]
  .filter(sheet => sheet.href && new URL(sheet.href).pathname === path)
  .reduce((rules, sheet) => rules + sheet.cssRules.length, 0)"""
# How many CSS pixels the element's content is wider than the element (0: no inner scrolling).
INNER_SCROLL = """selector => {
  const box = document.querySelector(selector);
  return box.scrollWidth - box.clientWidth;
}"""


def test_an_operator_logs_in_through_the_login_form(
    page_factory: Callable[..., Any], shoot: Shoot
) -> None:
    page = page_factory()
    page.goto("/admin/")
    assert "/admin/login/" in page.url  # not logged in: sent to the form

    page.fill("#id_username", SUPERUSER)
    page.fill("#id_password", "not-the-password")
    page.click("input[type=submit]")
    assert "/admin/login/" in page.url
    assert "enter the correct username and password" in page.locator(".errornote").inner_text()
    shoot(page, "login")

    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    assert SUPERUSER.upper() in page.locator("#user-tools").inner_text().upper()
    # The admin is styled: its stylesheet is served (WhiteNoise, DEBUG off) and read.
    assert page.evaluate(STYLESHEET_RULES, "/static/admin/css/base.css") > 100


def test_an_operator_acknowledges_an_incident_in_its_admin_page(
    admin_page: Any, stack: Stack, shoot: Shoot
) -> None:
    page = admin_page
    page.goto(f"/admin/nzila_ops/incident/{stack.incident_pk}/change/")
    assert "Card payments declined for some buyers" in page.locator("#content").inner_text()
    page.select_option("#id_transition", "acknowledge")
    page.fill("#id_note", "Looking at the payment provider's status page.")
    page.click("input[name=_continue]")

    page.wait_for_selector(".messagelist")
    [(status, by)] = stack.query(
        "SELECT status, acknowledged_by FROM nzila_ops_incident WHERE id = %s", stack.incident_pk
    )
    assert (status, by) == ("acknowledged", SUPERUSER)
    timeline = page.locator("#content").inner_text()
    assert "acknowledged" in timeline
    assert "Looking at the payment provider's status page." in timeline
    shoot(page, "incident")
    # The message names the incident as it is now, not as it was before the action.
    message = page.locator(".messagelist").inner_text()
    assert "acknowledged: Card payments" in message and "triggered" not in message

    # The list reads at 1400 px without scrolling sideways inside it (it did, by a column).
    page.goto("/admin/nzila_ops/incident/")
    assert page.evaluate(INNER_SCROLL, "#changelist .results") == 0


def test_an_operator_reads_the_sla_report(admin_page: Any, shoot: Shoot) -> None:
    page = admin_page
    response = page.goto("/admin/nzila_ops/slareport/")
    assert response is not None and response.status == 200
    assert page.locator("h2", has_text="Uptime").is_visible()
    # The worker's health samples are in the report: the database's row has a figure.
    uptime = page.locator(".sla-table").first.inner_text()
    assert "database" in uptime
    shoot(page, "sla-report")


def test_the_sla_report_reads_on_a_phone(
    page_factory: Callable[..., Any], admin_state: dict[str, Any]
) -> None:
    page = page_factory(PHONE, state=admin_state, is_mobile=True)
    response = page.goto("/admin/nzila_ops/slareport/")
    assert response is not None and response.status == 200
    # Its wide tables scroll inside their own box: no column is cut off out of reach.
    assert out_of_reach(page, "#content") == []


def test_a_customer_reads_the_public_status_page(
    page_factory: Callable[..., Any], shoot: Shoot
) -> None:
    for viewport, name in ((DESKTOP, "status"), (PHONE, "status-phone")):
        page = page_factory(viewport)
        response = page.goto("/ops/status/")
        assert response is not None and response.status == 200
        assert page.locator("h1").inner_text() == "Service status"
        components = page.locator(".card .row .name").all_inner_texts()
        assert components == ["Sign-in", "Vehicle listings", "Deals", "Payments", "Database"]
        # The open payments incident is shown to customers.
        assert page.locator(".incident .meta", has_text="Payments").count() >= 1
        # Nothing scrolls sideways, not even on a phone.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"]
        shoot(page, name)
