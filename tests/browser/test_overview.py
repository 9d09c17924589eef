"""The operations overview (/admin/nzila_ops/) and the backup pages as an operator sees them in
Chromium, on a desktop and a phone: every block there, nothing scrolling sideways. Their
screenshots are the README's and the docs' (docs/img/, with NZILA_SCREENSHOTS=1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.support.browser_stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres]

Shoot = Callable[[Any, str], Path]
BLOCKS = ["#ops-health", "#ops-backups", "#ops-drills", "#ops-incidents", "#ops-sla"]


# Elements under `root` cut off where the operator cannot scroll to them: past the right edge of
# the window or of a box that hides its overflow, with no box that scrolls sideways in between
# (a wide table in a block of its own that scrolls is reachable, on a phone too).
OUT_OF_REACH = """root => {
  const cut = [];
  const windowRight = document.documentElement.clientWidth;
  for (const element of document.querySelectorAll(root + " *")) {
    const box = element.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    let right = windowRight, scrolls = false;
    for (let up = element.parentElement; up && up !== document.body; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      if (overflow === "auto" || overflow === "scroll") { scrolls = true; break; }
      if (overflow === "hidden" || overflow === "clip") {
        right = Math.min(right, up.getBoundingClientRect().right);
      }
    }
    if (!scrolls && box.right > right + 1) {
      cut.push(element.tagName + " " + element.textContent.trim().slice(0, 40));
    }
  }
  return cut;
}"""


# Blocks of the overview whose content is wider than the block: the operator would have to
# scroll inside it to read a reason or a verification (at 1400 px they used to).
INNER_SCROLL = """() => [...document.querySelectorAll(".ops-block")]
  .filter(block => block.scrollWidth > block.clientWidth + 1).map(block => block.id)"""


def sideways_scroll(page: Any) -> int:
    """How many CSS pixels the page is wider than its viewport (0: nothing scrolls sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth - innerWidth"))


def out_of_reach(page: Any, root: str) -> list[str]:
    return list(page.evaluate(OUT_OF_REACH, root))


@pytest.mark.parametrize(("viewport", "name"), [(DESKTOP, "overview"), (PHONE, "overview-phone")])
def test_the_overview_answers_the_first_questions_on_a_desktop_and_a_phone(
    page_factory: Callable[..., Any],
    admin_state: dict[str, Any],
    stack: Stack,
    shoot: Shoot,
    viewport: dict[str, int],
    name: str,
) -> None:
    page = page_factory(viewport, state=admin_state, is_mobile=viewport is PHONE)
    response = page.goto("/admin/nzila_ops/")
    assert response is not None and response.status == 200
    overview = page.locator(".ops-overview")
    for block in BLOCKS:
        assert overview.locator(block).is_visible(), block
    # What the stack recorded is there: the health samples, the backup, the drill, the incident.
    assert "database" in overview.locator("#ops-health").inner_text()
    _pk, backup = stack.newest_backup()
    assert backup in overview.locator("#ops-backups").inner_text()
    assert overview.locator("#ops-drills .ops-badge").count() >= 1
    assert "P1" in overview.locator("#ops-incidents").inner_text()
    assert sideways_scroll(page) == 0
    assert out_of_reach(page, "#ops-overview") == []
    assert page.evaluate(INNER_SCROLL) == []
    # Each component says when it was last sampled, and a failing one why.
    health = overview.locator("#ops-health")
    sampled = health.locator(".ops-health-row th a")  # a row of a component sampled at least once
    assert sampled.count() >= 1
    assert health.locator("td[data-label='last sampled'] .ops-time").count() == sampled.count()
    failing = health.locator(".ops-health-row", has=page.locator(".ops-badge--failing"))
    # The stack runs no Celery beat: celery_beat fails ("no beat heartbeat recorded").
    assert failing.count() >= 1
    for index in range(failing.count()):
        assert failing.nth(index).locator(".ops-reason").inner_text().strip() != ""
    shoot(page, name)


def test_the_backup_list_and_a_backup_fit_the_screen(
    admin_page: Any, stack: Stack, shoot: Shoot
) -> None:
    page = admin_page
    pk, backup = stack.newest_backup()
    page.goto("/admin/nzila_ops/backuprecord/")
    assert backup in page.locator("#result_list").inner_text()
    assert sideways_scroll(page) == 0  # at 1400 px the list used to scroll sideways
    assert out_of_reach(page, "#content") == []
    shoot(page, "backups")

    page.goto(f"/admin/nzila_ops/backuprecord/{pk}/change/")
    assert backup in page.locator("#content").inner_text()
    # The superuser holds nzila_ops.restore_backup: the page offers the restore.
    assert page.locator(".ops-restore-link").is_visible()
    assert out_of_reach(page, "#content") == []
    shoot(page, "backup")


def test_verify_runs_on_the_worker_and_its_outcome_shows_in_the_list(
    admin_page: Any, stack: Stack
) -> None:
    page = admin_page
    _pk, backup = stack.newest_backup()
    page.goto("/admin/nzila_ops/backuprecord/")
    row = page.locator("#result_list tbody tr", has_text=backup)
    assert row.locator(".field-verified").inner_text().strip() == "never"
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "verify_backups")
    page.click("button[name=index], input[name=index]")
    assert f"Verification of {backup} queued" in page.locator(".messagelist").inner_text()

    # The worker checks the stored object (checksum, decryption, pg_restore --list) and records
    # the outcome; the list shows it once done.
    for _ in range(120):
        verified = row.locator(".field-verified").inner_text().strip()
        if verified != "never":
            break
        page.wait_for_timeout(500)
        page.reload()
    assert verified.startswith("passed"), verified
    [(result,)] = stack.query(
        "SELECT verification_result FROM nzila_ops_backuprecord WHERE name = %s", backup
    )
    assert result == "passed"
