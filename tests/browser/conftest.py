"""Fixtures of the browser tests: the served example project (one for this package's tests,
stopped after the last of them rather than at the end of the whole run),
Debian's Chromium driven by Playwright (never a browser Playwright downloads), pages logged in
as the superuser or the staff user, and where screenshots go.

Screenshots are docs (docs/img/, shown in the README and docs), not assertions: they are
rewritten only with NZILA_SCREENSHOTS=1, otherwise they go to a temporary directory so that
`make test` leaves the checkout as it found it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.support.browser_stack import PASSWORD, STAFF, Stack, browser_stack
from tests.support.host import REPO

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, age_key: tuple[Path, str]) -> Iterator[Stack]:
    with browser_stack(tmp_path_factory.mktemp("browser"), age_key) as served:
        yield served


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no chromium: install Debian's package (scripts/setup_host test does, as root)")
    with sync_playwright() as playwright:
        # --no-sandbox: the tests run as root on CI, where Chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(
            executable_path=binary, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("NZILA_SCREENSHOTS") == "1":
        return REPO / "docs" / "img"
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def shoot(screenshot_dir: Path) -> Callable[[Any, str], Path]:
    """Save the page as docs/img/<name>.png (or the temporary directory's): the viewport only,
    animations stopped and the caret hidden, so that two runs give the same picture but for
    the times on the page."""

    def save(page: Any, name: str) -> Path:
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path), animations="disabled", caret="hide")
        return path

    return save


def new_page(browser: Any, stack: Stack, viewport: dict[str, int], **options: Any) -> Any:
    context = browser.new_context(
        base_url=stack.base, viewport=viewport, locale="en-GB", timezone_id="UTC",
        device_scale_factor=1, **options,
    )  # fmt: skip
    context.set_default_timeout(30_000)
    return context.new_page()


def log_in(page: Any, username: str) -> None:
    """Through the admin's login form, as an operator does."""
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


@pytest.fixture(scope="package")
def admin_state(stack: Stack) -> dict[str, Any]:
    """The superuser's session cookie (the session the stack made; the login form has a test
    of its own), for every test that starts logged in."""
    cookie = {
        "name": "sessionid",
        "value": stack.admin_session,
        "domain": "127.0.0.1",
        "path": "/",
        "expires": -1,
        "httpOnly": True,
        "secure": False,
        "sameSite": "Lax",
    }
    return {"cookies": [cookie], "origins": []}


@pytest.fixture
def page_factory(browser: Any, stack: Stack) -> Iterator[Callable[..., Any]]:
    """make(viewport=DESKTOP, state=None): a fresh browser context's page (closed after)."""
    contexts: list[Any] = []

    def make(viewport: dict[str, int] = DESKTOP, state: dict[str, Any] | None = None,
             **options: Any) -> Any:  # fmt: skip
        page = new_page(browser, stack, viewport, storage_state=state, **options)
        contexts.append(page.context)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def admin_page(page_factory: Callable[..., Any], admin_state: dict[str, Any]) -> Any:
    return page_factory(state=admin_state)


@pytest.fixture
def staff_page(page_factory: Callable[..., Any]) -> Any:
    page = page_factory()
    log_in(page, STAFF)
    return page


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test's report carries the tails of the served processes' logs (gunicorn, the
    worker): what the server did is often the answer to what the browser saw."""
    report = yield
    served = getattr(item, "funcargs", {}).get("stack")
    if report.failed and isinstance(served, Stack):
        report.sections.append(("served processes' logs", served.log_tail()))
    return report
