"""The status page laid out by a real browser (headless Chromium) 375 CSS pixels wide, a phone's
width: nothing scrolls sideways, the bars fill the card, the text keeps a readable size."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.utils.html import escape

from nzila_ops.models import ComponentFlip, ComponentState, Incident
from nzila_ops.sla.status import cache_key

pytestmark = pytest.mark.django_db

PHONE_WIDTH = 375
# Headless Chromium's window is at least 500 pixels wide, so the page is laid out in an iframe
# of the phone's width; a script of the wrapper (not of the page: its Content-Security-Policy
# allows none) measures it and writes the figures into the DOM that --dump-dom prints.
WRAPPER = """<!doctype html><html><head><script>
function measure(frame) {
  const doc = frame.contentDocument, root = doc.documentElement;
  const bars = [...doc.querySelectorAll("svg.bars")].map(b => b.getBoundingClientRect().width);
  const right = [...doc.querySelectorAll("main *")].map(e => e.getBoundingClientRect().right);
  Object.assign(document.body.dataset, {
    viewport: String(root.clientWidth), overflow: String(root.scrollWidth - root.clientWidth),
    rightmost: String(Math.max(...right)), bars: String(bars.length),
    narrowest: String(Math.min(...bars)),
    font: doc.defaultView.getComputedStyle(doc.querySelector(".meta")).fontSize,
  });
}
</script></head><body><iframe style="width: %dpx; height: 800px; border: 0" srcdoc="%s"
onload="measure(this)"></iframe></body></html>"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def busy_page(settings: Any) -> Iterator[None]:
    """Long public names and titles, open and resolved incidents: what breaks a narrow layout."""
    public = {
        "payments_api": "Payments and settlement for vehicle export deals",
        "database": "Database",
        "vehicles_api": "Vehicles",
    }
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"PUBLIC_COMPONENTS": public}}
    now = datetime.now(UTC)
    for component in public:
        ComponentFlip.objects.create(component=component, old="", new="ok",
                                     at=now - timedelta(days=120))  # fmt: skip
        ComponentState.objects.create(component=component, status="ok", since=now,
                                      last_sampled_at=now)  # fmt: skip
    ComponentFlip.objects.create(component="database", old="ok", new="failing",
                                 at=now - timedelta(days=3))  # fmt: skip
    ComponentFlip.objects.create(component="database", old="failing", new="ok",
                                 at=now - timedelta(days=3) + timedelta(hours=2))  # fmt: skip
    for number, status in enumerate(["triggered", "resolved", "resolved"]):
        Incident.objects.create(
            severity="P1", status=status, component="payments_api", source="health",
            key=f"payments_api#{number}", title="payments_api is DOWN",
            detected_at=now - timedelta(days=number + 1),
            resolved_at=None if status == "triggered" else now - timedelta(days=number),
            public_title="Card payments for deals in progress are failing for a part of "
            "customers_in_the_Middle_East_and_North_Africa_region_today" if number else "",
        )  # fmt: skip
    yield
    cache.delete(cache_key())


def test_the_page_fits_a_phone_screen(client: Any, busy_page: None, tmp_path: Path) -> None:
    binary = chromium()
    if binary is None:
        pytest.skip("no chromium: install Debian's package (scripts/setup_host test does, as root)")
    html = client.get("/ops/status/").content.decode()
    page = tmp_path / "status.html"
    page.write_text(WRAPPER % (PHONE_WIDTH, escape(html)))
    dom = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={PHONE_WIDTH},800", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    measured = dict(re.findall(r'data-([a-z]+)="([^"]*)"', dom))
    assert measured["viewport"] == str(PHONE_WIDTH)
    assert measured["overflow"] == "0"  # nothing scrolls sideways
    assert float(measured["rightmost"]) <= PHONE_WIDTH
    assert measured["bars"] == "3"
    assert float(measured["narrowest"]) > 0.8 * PHONE_WIDTH - 40  # the bars span the card
    assert float(measured["font"].removesuffix("px")) >= 13  # the smallest text stays legible
