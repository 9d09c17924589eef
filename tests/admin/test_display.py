"""How a JSON document (a manifest read from storage: anything at all) is shown: as
definition lists and tables, escaped, bounded in depth, never an error."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nzila_ops.admin.display import badge, document, phases_table

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


@given(json_values)
def test_any_document_renders_escaped(value: Any) -> None:
    html = str(document(value))
    assert "<script" not in html


def test_a_document_escapes_what_storage_holds() -> None:
    html = str(document({"name": "<script>alert(1)</script>", "tables": [{"name": "<b>"}]}))
    assert "<script>" not in html and "&lt;script&gt;" in html and "<td>&lt;b&gt;</td>" in html


def test_sizes_and_phase_timings_in_a_document_read_as_such() -> None:
    html = str(document({"object": {"stored_size": 38243}, "stage_seconds": {"dump": 0.5}}))
    assert ">38.2 KB<" in html and 'title="38,243 bytes"' in html
    assert '<th scope="row">dump</th><td>0.5 s</td>' in html


def test_phases_in_order_with_their_total() -> None:
    # As jsonb hands them back (shortest key first), shown in the order they ran.
    html = str(phases_table({"swap": 0.1, "fetch": 1.25, "verify": 2, "restore": 70}))
    assert html.index("fetch") < html.index("restore") < html.index("verify") < html.index("swap")
    assert "<td>1 min 10 s</td>" in html and "<td>1 min 13 s</td>" in html  # the total
    assert phases_table({}) == "-"


def test_a_badge_says_its_word_and_a_state_that_is_no_css_word_is_made_one() -> None:
    assert str(badge("failed")) == (
        '<span class="ops-badge ops-badge--failed ops-tone--bad">failed</span>'
    )
    assert 'class="ops-badge ops-badge--a--b- ops-tone--neutral">a&quot; b&lt;<' in str(
        badge('a" b<')
    )
