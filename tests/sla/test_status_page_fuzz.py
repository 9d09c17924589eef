"""Whatever a visitor puts in the status URLs' query string, the answer is the page, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops.models import ComponentState
from nzila_ops.sla.status import cache_key

pytestmark = pytest.mark.django_db

PUBLIC = {"payments_api": "Payments API"}
query_text = st.text(st.characters(codec="utf-8"), max_size=40)
raw_query = st.lists(st.tuples(query_text, query_text), max_size=4).map(
    lambda pairs: "&".join(f"{quote(k, safe='=&;%+')}={quote(v, safe='=&;%+')}" for k, v in pairs)
)


@pytest.fixture
def published(settings: Any) -> Iterator[Any]:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"PUBLIC_COMPONENTS": PUBLIC}}
    now = datetime.now(UTC)
    ComponentState.objects.create(
        component="payments_api", status="ok", since=now - timedelta(hours=1),
        last_sampled_at=now,
    )  # fmt: skip
    yield settings
    cache.delete(cache_key())


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=st.sampled_from(["/ops/status/", "/ops/status.json"]), query=raw_query,
       cached=st.booleans())  # fmt: skip
def test_any_query_string_gets_the_page(
    client: Any, published: Any, path: str, query: str, cached: bool
) -> None:
    if not cached:
        cache.delete(cache_key())
    response = client.get(f"{path}?{query}")
    assert response.status_code == 200
    assert b"Payments API" in response.content
