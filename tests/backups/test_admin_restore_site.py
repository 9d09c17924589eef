"""The restore page on a host's own AdminSite (not Django's ``admin``), and its login redirect
with the page's address encoded into ``next``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from nzila_ops.backups import restore_progress as progress_store
from nzila_ops.models import BackupRecord
from tests.backups.admin_restore_support import (
    client_for,
    progress_url,
)

pytestmark = pytest.mark.postgres
SITE = "/ops-admin/nzila_ops/backuprecord/"


def _row() -> BackupRecord:
    now = timezone.now()
    return BackupRecord.objects.create(
        name="default-20261129T000000Z-manual-abcd", database_alias="default",
        engine="postgresql", status="succeeded", started_at=now, finished_at=now,
    )  # fmt: skip


def test_a_second_admin_site_keeps_its_own_links(
    ops_settings: Any, redis_cache: str, operator: Any, settings: Any
) -> None:
    settings.ROOT_URLCONF = "tests.backups.second_admin_site_urls"
    record = _row()
    client = client_for(operator)
    listing = client.get(SITE).content.decode()
    assert f'href="{SITE}{record.pk}/restore/"' in listing

    running = progress_store.new_request_id()
    assert progress_store.claim_restore("default", running) is None
    progress_store.new_progress(running, database="default", backup=record.name)
    page = client.get(f"{SITE}{record.pk}/restore/").content.decode()
    assert f'href="{SITE}restore-progress/{running}/"' in page
    assert 'href="/ops-admin/"' in page  # the breadcrumbs too

    progress = client.get(f"{SITE}restore-progress/{running}/").content.decode()
    assert f'data-url="{SITE}restore-progress/{running}/json/"' in progress
    anonymous = Client().get(f"{SITE}restore-progress/{running}/")
    assert anonymous["Location"].startswith("/ops-admin/login/?next=")


def test_the_login_redirect_carries_the_whole_address_encoded(redis_cache: str) -> None:
    request_id = progress_store.new_request_id()
    asked = progress_url(request_id) + "?a=1&next=/elsewhere/"
    response = Client().get(asked)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/admin/login/"
    assert parse_qs(location.query) == {"next": [asked]}


@examples(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(query=st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=60), max_size=4))
def test_any_query_string_comes_back_whole_through_the_login(
    redis_cache: str, query: dict[str, str]
) -> None:
    request_id = progress_store.new_request_id()
    response = Client().get(progress_url(request_id), query)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/admin/login/"
    [back] = parse_qs(location.query, keep_blank_values=True)["next"]
    asked = urlsplit(back)
    assert asked.path == progress_url(request_id)
    assert parse_qs(asked.query, keep_blank_values=True) == {k: [v] for k, v in query.items()}
