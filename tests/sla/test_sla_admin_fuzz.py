"""Whatever the period (or format) in the SLA admin page's query string, an answer, never a 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

URL = "/admin/nzila_ops/slareport/"
# Near misses of the accepted forms as well as anything at all.
periods = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=30),
    st.from_regex(r"\A-?\d{1,5}(-(Q?\d{1,3}|q\d))?\Z"),
    st.sampled_from(["2026-10", "2026-Q4", "2026", "1970", "9998", "9998-12", "1970-01"]),
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(period=periods, fmt=st.sampled_from(["", "csv", "html", "CSV", "\x00"]))
def test_any_period_gets_a_report_or_a_message(admin_client: Any, period: str, fmt: str) -> None:
    response = admin_client.get(f"{URL}?period={quote(period)}&format={quote(fmt)}")
    assert response.status_code == 200
    if fmt == "csv":
        assert response["Content-Type"] == "text/csv; charset=utf-8"
    else:
        assert b"SLA report" in response.content
