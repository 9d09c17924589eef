"""Properties of the uptime arithmetic, checked against a second-by-second oracle.

The oracle walks every second of a short timeline (fine in a test, never in the product); the
code under test must agree with it exactly, whatever the flips and maintenance windows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nzila_ops.models import ComponentFlip, MaintenanceWindow
from nzila_ops.sla.intervals import clip, intersect, merge, subtract, total
from nzila_ops.sla.uptime import availability_with_overall
from tests.sla.helpers import utc

BASE = utc(2025, 3, 1)
SPAN = 120  # the timeline: BASE - 20 s to BASE + 120 s; the window: [BASE, BASE + 100 s)
WINDOW = 100
STATES = ("ok", "warning", "failing")

pairs = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=8)


def _seconds(intervals: list[tuple[float, float]]) -> set[int]:
    return {s for a, b in intervals for s in range(int(a), int(b))}


@given(pairs, pairs)
def test_interval_operations_agree_with_sets_of_seconds(
    a_raw: list[tuple[int, int]], b_raw: list[tuple[int, int]]
) -> None:
    a = merge((float(x), float(x + w)) for x, w in a_raw)
    b = merge((float(x), float(x + w)) for x, w in b_raw)
    sa, sb = _seconds(a), _seconds(b)
    assert all(a[i][1] < a[i + 1][0] for i in range(len(a) - 1))  # sorted, apart
    assert _seconds(intersect(a, b)) == sa & sb
    assert _seconds(subtract(a, b)) == sa - sb
    assert _seconds(merge(a + b)) == sa | sb
    assert total(a) == len(sa)
    assert _seconds(clip(a, 10.0, 50.0)) == {s for s in sa if 10 <= s < 50}


flip_lists = st.lists(st.tuples(st.integers(-20, SPAN), st.sampled_from(STATES)), max_size=6)
window_lists = st.lists(
    st.tuples(st.integers(-20, SPAN), st.integers(1, 60), st.sampled_from(["", "a", "b"])),
    max_size=3,
)


def _oracle(flips: dict[str, list[tuple[int, str]]], windows: list[tuple[int, int, str]]):  # type: ignore[no-untyped-def]
    """{component: [state per second]} with "none", "maintenance", "up" or "down"."""
    result = {}
    for component, changes in flips.items():
        states = []
        for second in range(WINDOW):
            earlier = [new for at, new in sorted(changes, key=lambda c: c[0]) if at <= second]
            in_window = any(s <= second < s + w and c in ("", component) for s, w, c in windows)
            if not earlier:
                states.append("none")
            elif in_window:
                states.append("maintenance")
            else:
                states.append("down" if earlier[-1] == "failing" else "up")
        result[component] = states
    return result


@pytest.mark.django_db
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(flip_lists, flip_lists, window_lists)
def test_uptime_agrees_with_a_second_by_second_oracle(
    a_flips: list[tuple[int, str]], b_flips: list[tuple[int, str]],
    windows: list[tuple[int, int, str]],
) -> None:  # fmt: skip
    ComponentFlip.objects.all().delete()
    MaintenanceWindow.objects.all().delete()
    # One flip per second at most (the sampler records one state per sample).
    flips = {"a": dict(a_flips), "b": dict(b_flips)}
    for component, changes in flips.items():
        for at, new in sorted(changes.items()):
            ComponentFlip.objects.create(
                component=component, new=new, at=BASE + timedelta(seconds=at)
            )
    for start, width, component in windows:
        MaintenanceWindow.objects.create(
            component=component, starts_at=BASE + timedelta(seconds=start),
            ends_at=BASE + timedelta(seconds=start + width), reason="r",
        )  # fmt: skip
    rows, overall = availability_with_overall(["a", "b"], BASE, BASE + timedelta(seconds=WINDOW))
    oracle = _oracle({c: list(ch.items()) for c, ch in flips.items()}, windows)
    for component in ("a", "b"):
        row, states = rows[component], oracle[component]
        assert row.up_seconds == states.count("up")
        assert row.down_seconds == states.count("down")
        assert row.maintenance_seconds == states.count("maintenance")
        assert row.no_data_seconds == states.count("none")
        assert (
            row.up_seconds + row.down_seconds + row.maintenance_seconds + row.no_data_seconds
            == WINDOW
        )
        percent = row.uptime_percent
        assert percent is None if row.observed_seconds == 0 else 0 <= percent <= 100
    everyone = {s for start, w, c in windows if c == "" for s in range(start, start + w)}
    seen = [i for i in range(WINDOW) if oracle["a"][i] != "none" or oracle["b"][i] != "none"]
    down = [i for i in seen if "down" in (oracle["a"][i], oracle["b"][i])]
    assert overall.down_seconds == len(down)
    assert overall.maintenance_seconds == len([i for i in seen if i in everyone])
    assert overall.no_data_seconds == WINDOW - len(seen)
    assert overall.up_seconds == len(seen) - len(down) - overall.maintenance_seconds
