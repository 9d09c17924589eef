"""Restoring from the admin in Chromium: a staff user without ``nzila_ops.restore_backup`` gets
403; a wrong word is refused and changes nothing; RESTORE runs the restore on the Celery worker,
the page shows each phase (fetch, restore, verify, swap) as it runs, then the outcome and the
name the previous database is kept under.

The last file of the module on purpose: the restore replaces the served database with a backup,
so whatever the tests change after that backup is gone for the tests after it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser_stack import REDIS_URL, SUPERUSER, Stack

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres]

Shoot = Callable[[Any, str], Path]
PHASES = ["fetch", "restore", "verify", "swap"]
# Each phase's class whenever it changes, through page loads (the page reloads itself when the
# restore ends): reported to the test by a function the test exposes to the page.
WATCH_PHASES = """
(() => {
  const report = () => document.querySelectorAll("#ops-restore-progress li[data-phase]")
    .forEach(li => window.reportPhase(li.dataset.phase, li.className));
  new MutationObserver(report).observe(document, {subtree: true, childList: true,
    attributes: true, attributeFilter: ["class"]});
  document.addEventListener("DOMContentLoaded", report);
})();
"""


def restore_url(stack: Stack) -> str:
    pk, _name = stack.newest_backup()
    return f"/admin/nzila_ops/backuprecord/{pk}/restore/"


def restore_count(stack: Stack) -> int:
    [(count,)] = stack.query("SELECT count(*) FROM nzila_ops_restorerecord")
    return int(count)


def test_a_staff_user_without_the_permission_gets_403(staff_page: Any, stack: Stack) -> None:
    page = staff_page
    pk, backup = stack.newest_backup()
    # The staff user may look at the backup, which offers no restore...
    response = page.goto(f"/admin/nzila_ops/backuprecord/{pk}/change/")
    assert response is not None and response.status == 200
    assert backup in page.locator("#content").inner_text()
    assert page.locator(".ops-restore-link").count() == 0
    # ... and its restore page refuses them.
    response = page.goto(restore_url(stack))
    assert response is not None and response.status == 403
    assert page.locator("#ops-restore-form").count() == 0


def test_a_wrong_word_is_refused_and_changes_nothing(
    admin_page: Any, stack: Stack, shoot: Shoot
) -> None:
    page = admin_page
    databases, restores = stack.databases(), restore_count(stack)
    response = page.goto(restore_url(stack))
    assert response is not None and response.status == 200
    _pk, backup = stack.newest_backup()
    assert page.locator("#ops-restore-backup").inner_text() == backup
    assert f"{stack.dbname}_pre_restore_" in page.locator("#ops-restore-kept-as").inner_text()
    shoot(page, "restore")

    page.fill("#ops-restore-form input[name=confirm]", "restore")  # not in capitals
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#ops-restore-form input[type=submit]")
    assert answer.value.status == 400
    assert "Type RESTORE exactly" in page.locator("#ops-restore-form").inner_text()
    assert stack.databases() == databases  # no kept copy, no scratch database
    assert restore_count(stack) == restores
    shoot(page, "restore-refused")
    page.goto(restore_url(stack))
    assert page.locator("#ops-restore-running").count() == 0  # nothing queued or claimed


def test_a_lost_restore_is_shown_once_not_reloaded_forever(admin_page: Any, stack: Stack) -> None:
    """A restore whose worker died (no claim, nothing written for longer than a claim lives):
    the page says so and stays; it used to reload itself every second."""
    from datetime import timedelta

    from django.core.cache.backends.redis import RedisCache
    from django.utils import timezone

    from nzila_ops.backups import restore_progress as progress_store

    request_id = progress_store.new_request_id()
    stale = timezone.now() - timedelta(seconds=progress_store.CLAIM_SECONDS + 60)
    state = {
        "request_id": request_id,
        "state": "running",
        "database": "default",
        "backup": stack.newest_backup()[1],
        "storage": "default",
        "started_by": "admin:someone",
        "phases": [
            {"name": name, "state": "pending", "started_at": None, "seconds": None}
            for name in PHASES
        ],
        "bytes_done": 0,
        "updated_at": stale.isoformat(),
    }
    # Written as the served project's cache writes it (REDIS_URL, no key prefix).
    RedisCache(REDIS_URL, {}).set(progress_store._progress_key(request_id), state, 600)
    loads: list[str] = []
    page = admin_page
    page.on("load", lambda: loads.append(page.url))

    page.goto(f"/admin/nzila_ops/backuprecord/restore-progress/{request_id}/")
    assert page.locator("#ops-restore-outcome").get_attribute("data-state") == "lost"
    page.wait_for_timeout(4000)  # four of the script's polls, were it polling
    assert len(loads) <= 2, loads


def test_restore_shows_each_phase_then_the_kept_copy(
    admin_page: Any, stack: Stack, shoot: Shoot
) -> None:
    page = admin_page
    seen: list[tuple[str, str]] = []
    page.expose_function("reportPhase", lambda phase, state: seen.append((phase, state)))
    page.add_init_script(WATCH_PHASES)
    restores = restore_count(stack)

    page.goto(restore_url(stack))
    page.fill("#ops-restore-form input[name=confirm]", "RESTORE")
    page.click("#ops-restore-form input[type=submit]")
    page.wait_for_url("**/restore-progress/**")
    # The page as the server first rendered it (the script changes the phases, not this).
    first = page.locator("#ops-restore-status").get_attribute("data-state")
    page.wait_for_selector("#ops-restore-progress li.running, #ops-restore-progress li.done")
    shoot(page, "restore-progress")

    outcome = page.wait_for_selector("#ops-restore-outcome", timeout=180_000)
    assert outcome is not None
    assert outcome.get_attribute("data-state") == "succeeded", outcome.inner_text()
    kept = page.locator("#ops-restore-kept").inner_text()
    assert kept.startswith(f"{stack.dbname}_pre_restore_")
    assert sorted(stack.databases()) == sorted([stack.dbname, kept])
    # The restored database holds the operator's session (the backup was taken after it).
    assert SUPERUSER in page.locator("#user-tools").inner_text().lower()
    shoot(page, "restore-done")

    # Shown live: the page opened before the restore ended, then each phase was seen running
    # or done, the phases ending in their order.
    assert first in ("queued", "running")
    for phase in PHASES:
        assert {"running", "done"} & {s for p, s in seen if p == phase}, (phase, seen)
    ended = [p for p, s in seen if s == "done"]
    assert list(dict.fromkeys(ended)) == PHASES, seen
    began = [p for p, s in seen if s in ("running", "done")]
    assert list(dict.fromkeys(began)) == PHASES, seen
    # And live, phase by phase: the long phases (the stack's ballast makes them seconds long,
    # the page polls every second) were seen running, not only done at the end.
    assert {"fetch", "restore"} & {p for p, s in seen if s == "running"}, seen

    # Audited in the restored database: who, from which address, the outcome.
    assert restore_count(stack) == restores + 1
    [audit] = stack.query(
        "SELECT started_by, host(requested_from), result, previous_database"
        " FROM nzila_ops_restorerecord ORDER BY id DESC LIMIT 1"
    )
    assert audit == (f"admin:{SUPERUSER}", "127.0.0.1", "succeeded", kept)
