"""Whatever is posted to the restore form, and whatever request id is asked for, the answer is
a 4xx (never a 500) and nothing is queued, claimed or changed."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops.backups import restore_progress as progress_store
from nzila_ops.models import RestoreRecord
from tests.backups.admin_restore_support import (
    client_for,
    progress_url,
    restore_url,
    take_backup,
)
from tests.support import pg

pytestmark = pytest.mark.postgres
FIXTURES = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Printable and control characters, NULs and surrogates' neighbours: what a form can carry.
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=200)


@FIXTURES
@given(
    confirm=ANY_TEXT.filter(lambda word: word != "RESTORE"),
    storage=st.one_of(st.none(), ANY_TEXT, st.sampled_from(["default", "secondary", ""])),
    extra=st.dictionaries(st.sampled_from(["csrfmiddlewaretoken", "x", "confirm2"]), ANY_TEXT),
)
def test_any_form_other_than_the_word_is_refused_with_a_4xx(
    ops_settings: Any,
    redis_cache: str,
    live_db: str,
    operator: Any,
    confirm: str,
    storage: str | None,
    extra: dict[str, str],
) -> None:
    record = _backup()
    data = {"confirm": confirm, **extra}
    if storage is not None:
        data["storage"] = storage
    response = client_for(operator).post(restore_url(record), data)
    assert response.status_code == 400
    assert RestoreRecord.objects.count() == 0
    assert progress_store.running_restore("default") is None
    assert pg.databases_like(f"{live_db}_pre_restore_") == []


@FIXTURES
@given(request_id=st.text(max_size=80), as_json=st.booleans())
def test_any_request_id_is_a_4xx_unless_it_names_a_restore(
    redis_cache: str, operator: Any, request_id: str, as_json: bool
) -> None:
    url = progress_url(quote(request_id, safe=""), json=as_json)
    response = client_for(operator).get(url)
    # An empty id, or one with a "/", is not a progress page's URL: the admin answers it as an
    # unknown object, with a redirect.
    expected = (302, 404) if "/" in request_id or not request_id else (404,)
    assert response.status_code in expected


@FIXTURES
@given(storage=ANY_TEXT.filter(lambda name: name != "default"))
def test_the_word_with_a_storage_that_does_not_hold_the_backup_is_refused(
    ops_settings: Any, redis_cache: str, live_db: str, operator: Any, storage: str
) -> None:
    record = _backup()
    response = client_for(operator).post(
        restore_url(record), {"confirm": "RESTORE", "storage": storage}
    )
    assert response.status_code == 400
    assert RestoreRecord.objects.count() == 0
    assert progress_store.running_restore("default") is None


def _backup() -> Any:
    # One real backup per test, taken on its first example (hypothesis runs the body many times
    # with the same function-scoped fixtures).
    from nzila_ops.models import BackupRecord

    record = BackupRecord.objects.filter(status="succeeded").first()
    return record if record is not None else take_backup()


@FIXTURES
@given(query=st.dictionaries(st.sampled_from(["storage", "confirm", "x"]), ANY_TEXT))
def test_any_query_string_on_the_page_is_answered_without_an_error(
    ops_settings: Any, redis_cache: str, live_db: str, operator: Any, query: dict[str, str]
) -> None:
    record = _backup()
    response = client_for(operator).get(restore_url(record), query)
    assert response.status_code == 200
    page = response.content.decode()
    # A storage that is not the primary nor a copy is named as the problem, with no form.
    offered = query.get("storage", "") in ("", "default")
    assert ('id="ops-restore-form"' in page) is offered
