"""Whatever arrives in our admin pages' query strings or action POSTs: an answer (a list, a
redirect, a 400, a 404), never a 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops.models import BackupRecord
from tests.admin.conftest import make_backup

pytestmark = pytest.mark.django_db

PAGES = ["backuprecord", "componentstate", "componentflip", "rpostate", "drillrecord",
         "restorerecord"]  # fmt: skip
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
texts = st.text(st.characters(codec="utf-8"), max_size=20)
keys = st.one_of(
    texts,
    st.sampled_from(["q", "o", "p", "status", "status__exact", "verified_at__gte", "e",
                     "started_at__year", "breached__exact", "all", "_selected_action"]),
)  # fmt: skip


@FUZZ
@given(page=st.sampled_from(PAGES), query=st.lists(st.tuples(keys, texts), max_size=3))
def test_any_list_query_gets_an_answer(admin_client: Any, page: str, query: list) -> None:
    response = admin_client.get(f"/admin/nzila_ops/{page}/?{urlencode(query)}")
    assert response.status_code in (200, 302, 400), response.status_code


@FUZZ
@given(
    action=st.one_of(
        texts, st.sampled_from(["verify_backups", "drill_backups", "delete_selected"])
    ),
    selected=st.lists(st.one_of(texts, st.integers(-(2**63), 2**63).map(str)), max_size=3),
    index=st.one_of(texts, st.sampled_from(["0", "1", "-1", "99"])),
    extra=st.dictionaries(st.sampled_from(["ops_next", "select_across", "post"]), texts),
)
def test_any_action_post_gets_an_answer(
    admin_client: Any, action: str, selected: list[str], index: str, extra: dict[str, str]
) -> None:
    if not BackupRecord.objects.filter(name="default-fuzzed").exists():
        make_backup("default-fuzzed", status="failed")  # never queued: only its refusal
    data = {"action": action, "index": index, "_selected_action": selected, **extra}
    response = admin_client.post("/admin/nzila_ops/backuprecord/", data)
    assert response.status_code in (200, 302, 400), response.status_code


@FUZZ
@given(pk=texts)
def test_any_detail_path_gets_an_answer(admin_client: Any, pk: str) -> None:
    from urllib.parse import quote

    response = admin_client.get(f"/admin/nzila_ops/backuprecord/{quote(pk, safe='')}/change/")
    assert response.status_code in (200, 302, 404), response.status_code


def test_a_selection_that_is_not_a_row_is_refused_with_one_line(admin_client: Any) -> None:
    data = {"action": "verify_backups", "index": "0", "_selected_action": ["1", "abc"]}
    response = admin_client.post("/admin/nzila_ops/backuprecord/", data)
    assert response.status_code == 400
    assert response.content.decode() == "a selected row is not a row of this list"
