"""The status page's percentages are floored exactly, as the report's (render.percent)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache

from nzila_ops.models import ComponentFlip
from nzila_ops.sla.status import cache_key

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


@pytest.fixture
def public(settings: Any) -> Iterator[None]:
    settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"PUBLIC_COMPONENTS": {"database": "DB"}}}
    with time_machine.travel(NOW, tick=False):
        yield
    cache.delete(cache_key())


def test_a_share_that_is_exact_in_decimal_is_not_floored_below_itself(
    client: Any, public: None
) -> None:
    # Seen for 1,500 s, down the last 531: 969 / 1,500 = 64.6 % exactly. In floats,
    # 64.6 x 1000 is 64599.99999999999, which an int() floor showed as 64.599 %.
    ComponentFlip.objects.create(component="database", old="", new="ok",
                                 at=NOW - timedelta(seconds=1500))  # fmt: skip
    ComponentFlip.objects.create(component="database", old="ok", new="failing",
                                 at=NOW - timedelta(seconds=531))  # fmt: skip
    database = client.get("/ops/status.json").json()["components"][0]
    assert database["uptime_percent"] == 64.6
    assert database["days"][-1]["uptime_percent"] == 64.6
    assert "64.6" in client.get("/ops/status/").content.decode()
