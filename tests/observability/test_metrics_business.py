"""Business metrics: host callables computed at scrape time, bounded by a timeout, a cache and
one computation in flight per metric."""

from __future__ import annotations

import copy
import threading
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nzila_ops.conf import DEFAULTS
from nzila_ops.exceptions import ConfigurationError
from nzila_ops.observability.metrics import business
from nzila_ops.observability.metrics.config import validate
from tests.observability.metrics_scrape import (
    key,
    redis_db_11,
    scrape,
    scrape_in_thread,
    set_metrics,
)

HERE = __name__
calls: Counter[str] = Counter()
gate = threading.Event()
failing = threading.Event()
connections_seen: list[Any] = []


def seven() -> int:
    calls["seven"] += 1
    return 7


def revenue() -> Decimal:
    return Decimal("1234.50")


def raises() -> float:
    raise RuntimeError("the reporting replica is down")


def text() -> str:
    return "12"


def yes() -> bool:
    return True


def not_a_number() -> float:
    return float("nan")


def stuck() -> int:
    calls["stuck"] += 1
    gate.wait(30)
    return 5


def sometimes() -> int:
    if failing.is_set():
        raise RuntimeError("down for now")
    return 3


def deals() -> int:
    from django.db import connections

    from deals.models import Deal

    connections_seen.append(connections["default"])  # this thread's own
    return Deal.objects.count()


@pytest.fixture(autouse=True)
def fresh(settings: Any) -> Iterator[Any]:
    calls.clear()
    gate.clear()
    failing.clear()
    connections_seen.clear()
    business._forget_after_fork()  # no value or computation left from another test
    yield from redis_db_11(settings)
    gate.set()  # a stuck computation of the test ends


def use(settings: Any, timeout: float = 2.0, cache: float = 60, **paths: str) -> None:
    set_metrics(
        settings,
        BUSINESS={name: f"{HERE}.{path}" for name, path in paths.items()},
        BUSINESS_TIMEOUT_SECONDS=timeout,
        BUSINESS_CACHE_SECONDS=cache,
    )


def up(samples: dict[Any, float], name: str) -> float:
    return samples[key("nzila_business_metric_up", name=name)]


@pytest.mark.django_db
def test_numbers_are_exported_and_the_failures_are_metric_up_0(settings: Any) -> None:
    use(settings, seven="seven", revenue_per_day="revenue", broken="raises", words="text",
        flag="yes", nan="not_a_number", missing="no_such_function")  # fmt: skip
    samples = scrape()
    assert samples[key("nzila_business_seven")] == 7
    assert samples[key("nzila_business_revenue_per_day")] == 1234.5
    assert up(samples, "seven") == up(samples, "revenue_per_day") == 1
    for name in ("broken", "words", "flag", "nan", "missing"):
        assert up(samples, name) == 0
        assert key(f"nzila_business_{name}") not in samples
    assert samples[key("nzila_metrics_collector_up", part="business")] == 1


@pytest.mark.django_db
def test_a_value_is_reused_while_fresh_and_computed_again_after(settings: Any) -> None:
    use(settings, seven="seven", cache=60)
    scrape()
    assert scrape()[key("nzila_business_seven")] == 7
    assert calls["seven"] == 1
    use(settings, seven="seven", cache=0)
    scrape()
    scrape()
    assert calls["seven"] == 3


@pytest.mark.django_db
def test_a_stuck_callable_costs_one_timeout_and_one_thread_however_many_scrapes(
    settings: Any,
) -> None:
    use(settings, stuck="stuck", seven="seven", timeout=0.3)
    # Bounded: the scrape answers although the callable never returns by itself (a liveness
    # bound, far above the 0.3 s timeout, not a speed measurement).
    samples = scrape_in_thread(10)
    assert samples is not None
    assert up(samples, "stuck") == 0
    assert key("nzila_business_stuck") not in samples
    assert samples[key("nzila_business_seven")] == 7  # the others are not held up
    samples = scrape()
    assert up(samples, "stuck") == 0
    assert calls["stuck"] == 1
    assert [t.name for t in threading.enumerate()].count("nzila-business-stuck") == 1
    gate.set()
    for thread in threading.enumerate():
        if thread.name == "nzila-business-stuck":
            thread.join(10)
    # The late result is used, without computing again.
    samples = scrape()
    assert samples[key("nzila_business_stuck")] == 5
    assert up(samples, "stuck") == 1
    assert calls["stuck"] == 1


@pytest.mark.django_db
def test_after_a_failure_the_last_good_value_is_kept_only_while_fresh(settings: Any) -> None:
    use(settings, tier="sometimes", cache=1.0)
    assert scrape()[key("nzila_business_tier")] == 3
    failing.set()
    time.sleep(1.2)  # due again (older than the cache), younger than twice the cache
    samples = scrape()
    assert up(samples, "tier") == 0
    assert samples[key("nzila_business_tier")] == 3
    time.sleep(1.0)
    samples = scrape()
    assert up(samples, "tier") == 0
    assert key("nzila_business_tier") not in samples


@pytest.mark.django_db(transaction=True)
def test_the_computing_threads_database_connection_is_closed(settings: Any) -> None:
    use(settings, deals_total="deals")
    samples = scrape()
    assert samples[key("nzila_business_deals_total")] == 0
    assert len(connections_seen) == 1
    for thread in threading.enumerate():
        if thread.name == "nzila-business-deals_total":
            thread.join(10)
    assert connections_seen[0].connection is None


def section(business_setting: Any) -> dict[str, Any]:
    return {**copy.deepcopy(DEFAULTS["METRICS"]), "BUSINESS": business_setting}


def test_business_settings_are_validated() -> None:
    checked = section({"dau": "a.b", "revenue_per_day": {"CALLABLE": "x.y.z", "HELP": "USD"}})
    validate(checked)
    assert checked["BUSINESS"]["dau"] == {"CALLABLE": "a.b", "HELP": "Business metric dau (a.b)."}
    assert checked["BUSINESS"]["revenue_per_day"]["HELP"] == "USD"
    for bad in ({"DAU": "a.b"}, {"1x": "a.b"}, {"dau-x": "a.b"}, {"dau": "nodots"},
                {"dau": {"CALLABLE": "a.b", "EXTRA": 1}}, {"dau": 3}, ["dau"],
                {"dau": {"HELP": "no callable"}}, {"metric_up": "a.b"}):  # fmt: skip
        with pytest.raises(ConfigurationError):
            validate(section(bad))


@given(
    st.dictionaries(
        st.text(max_size=12),
        st.one_of(
            st.text(max_size=20),
            st.none(),
            st.integers(),
            st.dictionaries(st.sampled_from(["CALLABLE", "HELP", "X"]), st.text(max_size=20)),
        ),
        max_size=3,
    )
)
def test_any_business_setting_is_refused_in_one_line_or_yields_metric_safe_names(
    given_setting: dict[str, Any],
) -> None:
    checked = section(given_setting)
    try:
        validate(checked)
    except ConfigurationError as exc:
        assert "\n" not in str(exc)
        return
    for name, spec in checked["BUSINESS"].items():
        assert business_name_is_valid(f"nzila_business_{name}")
        assert name != "metric_up"
        assert "." in spec["CALLABLE"]


def business_name_is_valid(name: str) -> bool:
    import re

    return re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name) is not None


@pytest.mark.django_db(transaction=True)
def test_the_example_projects_business_metrics_count_the_last_24_hours(settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from deals.models import Deal
    from nzila_export_hub import settings as example
    from payments.models import Payment
    from vehicles.models import Vehicle

    set_metrics(settings, BUSINESS=example.NZILA_OPS["METRICS"]["BUSINESS"])
    car = Vehicle.objects.create(vin="V1", make="Toyota", model="Hilux", year=2020,
                                 mileage_km=1, price=Decimal("9000"))  # fmt: skip

    def deal(email: str, days_ago: float) -> Deal:
        made = Deal.objects.create(vehicle=car, buyer_email=email, buyer_name="b",
                                   destination_port="Mombasa", amount=Decimal("9000"))  # fmt: skip
        Deal.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(days_ago))
        return made

    def pay(
        on: Deal, amount: str, days_ago: float, succeeded: bool = True, currency: str = "USD"
    ) -> None:
        paid = Payment.objects.create(deal=on, amount=Decimal(amount), provider="test",
                                      succeeded=succeeded, currency=currency)  # fmt: skip
        Payment.objects.filter(pk=paid.pk).update(paid_at=timezone.now() - timedelta(days_ago))

    deal("a@example.com", 0.1)
    deal("a@example.com", 0.2)  # the same buyer twice: one active user
    old = deal("b@example.com", 3)
    pay(old, "500.25", 0.5)  # an old deal paid today: b is active today
    pay(old, "100", 0.5, succeeded=False)
    pay(old, "70", 0.5, currency="EUR")
    pay(old, "1000", 2)
    deal("c@example.com", 2)  # neither opened nor paid today
    samples = scrape()
    assert samples[key("nzila_business_daily_active_users")] == 2
    assert samples[key("nzila_business_deals_per_day")] == 2
    assert samples[key("nzila_business_revenue_per_day_usd")] == 500.25
