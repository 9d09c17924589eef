"""The scrubbing behind before_send: each kind of secret, what is kept, and a fuzz of arbitrary
nested data (it never raises and never returns a secret that was in its input)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pyrage import x25519

from nzila_ops.observability import scrub
from nzila_ops.observability.sentry import is_quiet, traces_sampler

F = scrub.FILTERED
AGE = str(x25519.Identity.generate())
AGES = [str(x25519.Identity.generate()) for _ in range(3)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login failed for amina.otieno@example.co.ke", f"login failed for {F}"),
        (
            "connecting to postgres://nzila:s3cr3t@db.internal:5432/nzila",
            f"connecting to postgres://{F}@db.internal:5432/nzila",
        ),
        (
            "dsn https://0123abcd@o1.ingest.sentry.io/5 is bad",
            f"dsn https://{F}@o1.ingest.sentry.io/5 is bad",
        ),
        (f"identity {AGE}\n", f"identity {F}\n"),
        ("AGE-PLUGIN-YUBIKEY-1QYQSZQGPQYQSZQGPQYQSZ", F),
        ("Authorization: Bearer eyJhbGciOi.J9.abc", f"Authorization: {F}"),
        ("Authorization: Token abcdef\nnext line", f"Authorization: {F}\nnext line"),
        ("proxy-authorization=Custom k1 k2", f"proxy-authorization={F}"),
        ('{"password": "correct horse battery"}', f'{{"password": "{F}"}}'),
        ("{'pwd': 'correct horse', 'user': 'amina'}", f"{{'pwd': '{F}', 'user': 'amina'}}"),
        ('secret="a \\" b c" tail', f'secret="{F}" tail'),
        (
            "passphrase=hunter2 pass_phrase: x9 pgpass=abc",
            f"passphrase={F} pass_phrase: {F} pgpass={F}",
        ),
        ("encryption_key=Zk9 ENCRYPTION-KEY: Zk9", f"encryption_key={F} ENCRYPTION-KEY: {F}"),
        ("header basic dXNlcjpwYXNz", f"header basic {F}"),
        (
            "/api/deals/?page=2&access_token=abc123&sort=asc",
            f"/api/deals/?page=2&access_token={F}&sort=asc",
        ),
        ('{"password": "hunter2", "user": 5}', f'{{"password": "{F}", "user": 5}}'),
        ("QueryDict: {'password': ['hunter2']}", f"QueryDict: {{'password': ['{F}']}}"),
        ("api_key=XYZ789 retried", f"api_key={F} retried"),
        ("payment 4411 settled in 320 ms", "payment 4411 settled in 320 ms"),
        ("token expired", "token expired"),
    ],
)
def test_secrets_in_text_are_replaced_and_the_rest_kept(text: str, expected: str) -> None:
    assert scrub.scrub_text(text) == expected


def test_values_under_secret_names_are_replaced_whatever_they_hold() -> None:
    event = {
        "request": {
            "headers": {"Authorization": "x", "X-Api-Key": "k", "Cookie": "a=b", "Accept": "*/*"},
            "cookies": {"sessionid": "abc", "theme": "dark"},
            "data": {"password": ["hunter2"], "new_password1": "p", "vin": "JTDBR32E5"},
        },
        "extra": {"NZILA_OPS": {"AGE_IDENTITY_FILE": "/etc/nzila/age.key", "CRON": "*/10"}},
        "spans": [{"data": {"http.request.header": [["x-nzila-health-token", "t"], ["a", "b"]]}}],
    }
    assert scrub.scrub(event) == {
        "request": {
            "headers": {"Authorization": F, "X-Api-Key": F, "Cookie": F, "Accept": "*/*"},
            "cookies": F,
            "data": {"password": F, "new_password1": F, "vin": "JTDBR32E5"},
        },
        "extra": {"NZILA_OPS": {"AGE_IDENTITY_FILE": F, "CRON": "*/10"}},
        "spans": [{"data": {"http.request.header": [["x-nzila-health-token", F], ["a", "b"]]}}],
    }


def test_an_event_keeps_its_release_and_environment() -> None:
    event = {"release": "nzila@3.1.0", "environment": "production", "message": "nzila@example.com"}
    assert scrub.before_send(event, {}) == {**event, "message": F}
    assert scrub.before_breadcrumb({"message": "to ops@nzila.example"}, {}) == {
        "message": f"to {F}"
    }


def test_what_cannot_be_scrubbed_is_dropped_not_sent(caplog: pytest.LogCaptureFixture) -> None:
    class Hostile(dict):  # type: ignore[type-arg]
        def items(self) -> Any:
            raise RuntimeError("cannot iterate")

    assert scrub.before_send({"extra": Hostile(a=1)}, {}) is None
    assert "Sentry event dropped: it could not be scrubbed" in caplog.text


def test_deep_nesting_is_cut_rather_than_walked_without_end() -> None:
    deep: Any = "amina@example.com"
    for _ in range(5000):
        deep = [deep]
    assert "amina@example.com" not in json.dumps(scrub.scrub(deep))


# Secrets as they reach an event: each is distinctive (a random hex part), so finding it in the
# output means it leaked rather than that the surrounding junk happened to spell it.
# (The letters keep an all-zero draw from matching a junk integer.)
hex_part = st.binary(min_size=8, max_size=16).map(lambda b: f"Zq{b.hex()}")
# Shorter than a Token/Digest credential the shape rule knows (16 characters).
short_part = st.binary(min_size=3, max_size=6).map(lambda b: f"Zq{b.hex()}")
secret_and_carrier = st.one_of(
    hex_part.map(lambda s: (s, {"password": s})),
    hex_part.map(lambda s: (s, {"Authorization": f"Token {s}"})),
    hex_part.map(lambda s: (s, ["X-Nzila-Health-Token", s])),
    hex_part.map(lambda s: (s, f"Authorization: Bearer {s}")),
    hex_part.map(lambda s: (s, f"GET /ops/?token={s}&x=1")),
    hex_part.map(lambda s: (s, f"password={s} ")),
    hex_part.map(lambda s: (s, f"redis://:{s}@cache:6379/0")),
    hex_part.map(lambda s: (s, f"https://{s}@o1.ingest.sentry.io/42")),
    hex_part.map(lambda s: (f"{s}@example.com", f"mail {s}@example.com ")),
    st.emails().map(lambda e: (e, f"<{e}>")),
    st.sampled_from(AGES).map(lambda a: (a, f"key: {a}")),
    # Quoted values with spaces: the whole quoted value is the secret.
    hex_part.map(lambda s: (s, f'{{"password": "correct horse {s} battery"}}')),
    hex_part.map(lambda s: (s, f"password: 'correct horse {s}'")),
    hex_part.map(lambda s: (s, {"note": f'{{"secret": "a b {s}"}}'})),
    # Names of secrets beyond the obvious ones (age supports passphrases).
    hex_part.map(lambda s: (s, {"passphrase": s})),
    hex_part.map(lambda s: (s, {"pass-phrase": s})),
    hex_part.map(lambda s: (s, {"ENCRYPTION_KEY": s})),
    hex_part.map(lambda s: (s, {"pgpass": s})),
    hex_part.map(lambda s: (s, f"passphrase={s} ")),
    hex_part.map(lambda s: (s, f"encryption_key: {s}")),
    hex_part.map(lambda s: (s, f"PGPASS={s}")),
    # An Authorization header in text, whatever its scheme or the credential's length.
    short_part.map(lambda s: (s, f"Authorization: Token {s}")),
    short_part.map(lambda s: (s, f"Proxy-Authorization: Custom realm {s}")),
    short_part.map(lambda s: (s, f"authorization={s} {s}")),
)
junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30)),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=12), st.integers()), children, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(junk, st.lists(secret_and_carrier, min_size=1, max_size=4), st.randoms())
def test_fuzz_scrub_never_raises_and_never_returns_a_secret(
    data: Any, secrets: list[tuple[str, Any]], random: Any
) -> None:
    event: Any = {"extra": data, "breadcrumbs": {"values": []}}
    for _secret, carrier in secrets:
        # Put the carrier somewhere in the junk: a new key, a list item, or a string's middle
        # (a [name, value] header pair is recognised as a structure, not inside text).
        where = random.choice(
            ["key", "list"] if isinstance(carrier, list) else ["key", "list", "text"]
        )
        if where == "key":
            event["extra"] = {"k": event["extra"], f"field{random.random()}": carrier}
        elif where == "list":
            event["breadcrumbs"]["values"].append({"data": carrier})
        else:
            event[f"message{random.random()}"] = f"before {json.dumps(carrier)} after"
    cleaned = scrub.before_send(event, {})
    text = json.dumps(cleaned, default=str)
    for secret, _carrier in secrets:
        assert secret not in text


@given(
    st.recursive(
        st.text() | st.binary() | st.integers(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_fuzz_scrub_takes_anything_json_like(data: Any) -> None:
    scrub.scrub(data)
    scrub.before_breadcrumb({"data": data}, None)


@pytest.mark.parametrize(
    "context",
    [
        {"wsgi_environ": {"PATH_INFO": "/ops/health/live"}},
        {"wsgi_environ": {"SCRIPT_NAME": "/internal", "PATH_INFO": "/ops/status.json"}},
        {"asgi_scope": {"path": "/ops/metrics"}},
        {"transaction_context": {"name": "/internal/ops/health/<str:name>/"}},
        {"transaction_context": {"name": "nzila_ops.health.views.live"}},
        {"transaction_context": {"name": "nzila_ops.sla.status_views.status_page"}},
        {"transaction_context": {"name": "nzila_ops.observability.metrics.view.metrics"}},
    ],
)
def test_the_quiet_endpoints_are_known_by_path_route_or_view(context: dict[str, Any]) -> None:
    assert is_quiet(context)
    assert traces_sampler(1.0)({**context, "parent_sampled": True}) == 0.0


@pytest.mark.parametrize(
    "path", ["/api/deals/", "/blog/ops-health/", "/ops/healthy-fleet/", "/shops/status/"]
)
def test_other_paths_are_sampled_at_the_rate(path: str) -> None:
    sample = traces_sampler(0.1)
    assert sample({"wsgi_environ": {"PATH_INFO": path}, "parent_sampled": None}) == 0.1
    assert sample({"wsgi_environ": {"PATH_INFO": path}, "parent_sampled": False}) == 0.0


@given(
    st.dictionaries(
        st.text(),
        st.recursive(
            st.none() | st.text() | st.booleans(), lambda c: st.dictionaries(st.text(), c)
        ),
    )
)
def test_fuzz_the_sampler_answers_a_rate_for_any_context(context: dict[str, Any]) -> None:
    assert traces_sampler(0.1)(context) in (0.0, 0.1, 1.0)


pieces = st.sampled_from(
    [
        *"ab@.:/=&?[]\"' -_",
        "password",
        "token",
        "Bearer ",
        "https://",
        "[Filtered]",
        "x.com",
        "AGE-SECRET-KEY-1",
        "dsn",
        "Filtered",
        "passphrase",
        "Authorization: ",
        "\\",
        "\n",
    ]
)


@given(st.lists(pieces, max_size=20).map("".join) | st.text())
# Found by this test: a backslash opening no quote kept the header rule off the first pass, so
# the second pass filtered again (and dropped the trailing space).
@example("Authorization: \\ ")
def test_fuzz_scrubbing_twice_changes_nothing_more(text: str) -> None:
    # Breadcrumbs are scrubbed when recorded and again inside their event.
    once = scrub.scrub_text(text)
    assert scrub.scrub_text(once) == once
