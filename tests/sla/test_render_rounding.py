"""Figures in the SLA report are never shown better than they are."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nzila_ops.sla import admin as sla_admin
from nzila_ops.sla.render import percent, spent_percent


def test_an_uptime_just_under_a_whole_figure_is_not_rounded_up_to_it() -> None:
    assert percent(99.9996) == "99.999 %"
    assert percent(99.8996) == "99.899 %"  # a missed 99.9 % target must not read "99.900 %"
    assert sla_admin.percent(99.9996) == "99.999 %"


def test_an_exact_figure_is_shown_exactly() -> None:
    assert percent(99.9) == "99.900 %"  # not 99.899 % from 99.9 * 1000 = 99899.99999...
    assert sla_admin.percent(99.9) == "99.900 %"
    assert percent(100.0) == "100.000 %"


def test_budget_spent_is_rounded_up() -> None:
    assert spent_percent(134.41) == "134.5 %"
    assert spent_percent(0.0) == "0.0 %"


@given(st.floats(min_value=0, max_value=100, allow_nan=False))
def test_a_shown_uptime_is_never_above_the_figure(value: float) -> None:
    shown = float(percent(value).removesuffix(" %"))
    assert shown <= value and value - shown < 0.001 + 1e-9
