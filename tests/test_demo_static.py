"""The example project serves its static files itself (WhiteNoise) with DEBUG off, as a
deployment without a separate web server does: the admin is styled once collectstatic has run."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db


@pytest.fixture
def collected(tmp_path: Path, settings: Any) -> Path:
    """collectstatic into a directory of this test's, the example project's settings otherwise."""
    settings.DEBUG = False
    settings.STATIC_ROOT = str(tmp_path)
    call_command("collectstatic", interactive=False, verbosity=0)
    return tmp_path


def test_the_admin_login_page_links_its_css_and_the_css_is_served_with_debug_off(
    collected: Path, client: Client
) -> None:
    page = client.get("/admin/login/")
    assert page.status_code == 200
    assert '<link rel="stylesheet" href="/static/admin/css/base.css">' in page.text

    css = client.get("/static/admin/css/base.css")
    assert css.status_code == 200
    assert css["Content-Type"].startswith("text/css")
    assert b"".join(css.streaming_content) == (collected / "admin/css/base.css").read_bytes()


def test_a_browser_that_accepts_gzip_gets_the_compressed_copy_collectstatic_made(
    collected: Path, client: Client
) -> None:
    css = client.get("/static/admin/css/base.css", headers={"Accept-Encoding": "gzip"})
    assert (css.status_code, css["Content-Encoding"]) == (200, "gzip")
    assert b"".join(css.streaming_content) == (collected / "admin/css/base.css.gz").read_bytes()


def test_before_collectstatic_the_css_is_missing_not_an_error(
    tmp_path: Path, settings: Any, client: Client
) -> None:
    settings.DEBUG = False
    settings.STATIC_ROOT = str(tmp_path)
    assert client.get("/static/admin/css/base.css").status_code == 404
    # The pages still render (hashed-name storage would fail every page here).
    assert client.get("/admin/login/").status_code == 200


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.text(max_size=40))
def test_any_path_under_static_is_served_or_refused_never_a_crash(
    collected: Path, client: Client, path: str
) -> None:
    response = client.get("/static/" + quote(path, safe="/"))
    assert response.status_code in (200, 301, 302, 304, 400, 404)
