"""What never leaves for Sentry: the scrubbing behind ``before_send``, ``before_send_transaction``
and ``before_breadcrumb``.

Two rules, applied to every value of an event, at any depth:

- by key: the value of a key that names a secret (``password``, ``token``, ``Authorization``,
  ``Cookie``, ``dsn``, ``sessionid``, ...) becomes ``[Filtered]``, whatever it holds. Header
  lists of ``[name, value]`` pairs are treated as keys too.
- by shape, in every string (keys included): URL credentials (``postgres://user:pw@host``,
  a Sentry DSN's key), e-mail addresses, age identities (``AGE-SECRET-KEY-1...``,
  ``AGE-PLUGIN-...-1...``), ``Bearer``/``Basic`` credentials, and ``password=...``,
  ``?token=...`` or ``"secret": "..."`` pairs in messages, SQL and query strings.

Pure Python, no Django and no sentry_sdk: importable from a settings module. Patterns are
bounded so that a long string costs linear time (an event can carry 100 KB strings).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger("nzila_ops.observability")

FILTERED = "[Filtered]"
# Deeper than any real event; beyond it a subtree is replaced whole rather than walked, so a
# hostile structure can neither recurse without end nor slip through unscrubbed.
MAX_DEPTH = 48

# Keys (lower-cased, "-" read as "_") whose values are secrets whatever they look like.
_SECRET_KEY = re.compile(
    r"password|passwd|pwd|passphrase|pass_phrase|pgpass|secret|token|authorization|cookie"
    r"|session|csrf|credential|dsn|signature|api_?key|access_?key|private_?key|encryption_?key"
    r"|identity"
    r"|^auth$|^auth_|_auth$|^x_auth"
)

_URL_CREDENTIALS = re.compile(r"([a-z][a-z0-9+.\-]{0,30}://)[^\s/?#]{1,512}@", re.IGNORECASE)
# Local part up to 64 characters (RFC 5321), so that a long string without an address is
# scanned in linear time.
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}")
_AGE_IDENTITY = re.compile(
    r"AGE-(?:SECRET-KEY|PLUGIN-[A-Z0-9\-]{1,64})-1[0-9A-Z]{1,2000}", re.IGNORECASE
)
_AUTH_SCHEME = re.compile(
    r"\b(Bearer|Basic)(\s{1,10})[A-Za-z0-9\-._~+/]{1,4096}=*"
    r"|\b(Token|Digest)(\s{1,10})[A-Za-z0-9\-._~+/]{16,4096}=*",
    re.IGNORECASE,
)
# A secret-named key followed by "=" or ":" and a value, as in a query string, a log message, a
# repr or JSON text. A quoted value runs to its closing quote (escapes included, and quotes
# escaped once more inside a JSON string: then to that string's end), spaces and all. An
# unquoted one stops at a separator; what a secret-named key is followed by after a space is
# not its value (``password: correct horse`` keeps ``horse``).
_KEY_VALUE = re.compile(
    r"(?P<key>(?:password|passwd|pwd|passphrase|pass[_\-]?phrase|pgpass|secret|token"
    r"|api[_\-]?key|access[_\-]?key|private[_\-]?key|encryption[_\-]?key|credential"
    r"|signature|sessionid|csrftoken|dsn|auth|cookie)[\w\-]{0,40})"
    r"(?P<sep>\\{0,2}[\"']?\s{0,5}[=:]\s{0,5}[\[(]{0,3})"
    r"(?:(?P<dopen>\\{0,2}\")(?P<dq>(?:[^\"\\\n]|\\.)*)(?P<dclose>\")?"
    r"|(?P<sopen>\\{0,2}')(?P<sq>(?:[^'\\\n]|\\.)*)(?P<sclose>')?"
    # A value that holds a part filtered already (a DSN's key) is replaced whole.
    r"|(?P<value>[^\s&\"',;}\])#\[]{0,512}\[Filtered\][^\s&\"',;}\])#]*|[^\s&\"',;}\])#]+))",
    re.IGNORECASE,
)
# An Authorization (or Proxy-Authorization) header written out in text: everything after it on
# its line is the credential, whatever the scheme ("Token abcdef", "Custom realm k1 k2"). A
# quoted value (its quote escaped or not) is left to _KEY_VALUE, which stops at its closing
# quote; a backslash that opens no quote is part of the credential like any other character.
_AUTH_LINE = re.compile(
    r"\b(?P<head>(?:proxy-)?authorization\\{0,2}[\"']?\s{0,5}[=:]\s{0,5})(?!\\{0,2}[\"'])(?!\s)[^\r\n]+",
    re.IGNORECASE,
)


# Lower-case words without which the pattern of the same name cannot match.
_AUTH_SCHEME_WORDS = ("bearer", "basic", "token", "digest")
_KEY_VALUE_WORDS = (
    "pwd", "pass", "secret", "token", "key", "credential", "signature", "session", "csrf",
    "dsn", "auth", "cookie",
)  # fmt: skip
_TRIGGER = re.compile(
    "|".join(re.escape(w) for w in ("://", "@", "age-", *_AUTH_SCHEME_WORDS, *_KEY_VALUE_WORDS))
)


def is_secret_key(key: object) -> bool:
    """Whether a mapping key (a header, form field, variable or setting name) names a secret."""
    return isinstance(key, str) and _names_a_secret(key)


@functools.lru_cache(maxsize=4096)  # key names repeat from event to event
def _names_a_secret(key: str) -> bool:
    return _SECRET_KEY.search(key.lower().replace("-", "_")) is not None


def scrub_text(text: str) -> str:
    """``text`` with every secret-shaped part replaced by ``[Filtered]``."""
    lower = text.lower()
    # Most strings of an event (span names, SQL, thread names) hold no word any pattern needs:
    # one search of them all costs less than trying each pattern.
    if _TRIGGER.search(lower) is None:
        return text
    # URL credentials first: "user:pw@host.example" also has the shape of an e-mail address,
    # and replacing it as one would leave "user:" in place.
    if "://" in text:
        text = _URL_CREDENTIALS.sub(rf"\1{FILTERED}@", text)
    if "@" in text:
        text = _EMAIL.sub(FILTERED, text)
    if "age-" in lower:
        text = _AGE_IDENTITY.sub(FILTERED, text)
    if any(word in lower for word in _AUTH_SCHEME_WORDS):
        text = _AUTH_SCHEME.sub(_auth_scheme_filtered, text)
    if "authorization" in lower:
        text = _AUTH_LINE.sub(rf"\g<head>{FILTERED}", text)
    if any(word in lower for word in _KEY_VALUE_WORDS):
        text = _KEY_VALUE.sub(_key_value_filtered, text)
    return text


def _key_value_filtered(match: re.Match[str]) -> str:
    key, sep, value = match.group("key", "sep", "value")
    opened = match.group("dopen") or match.group("sopen")
    if opened is not None:
        quoted = match.group("dq") if match.group("dopen") else match.group("sq")
        if quoted == FILTERED:
            return match.group(0)  # filtered already: scrubbing twice changes nothing
        closed = match.group("dclose") or match.group("sclose") or ""
        return f"{key}{sep}{opened}{FILTERED}{closed}"
    if value == FILTERED or (value == "Filtered" and sep.endswith("[")):
        return match.group(0)
    return f"{key}{sep}{FILTERED}"


def _auth_scheme_filtered(match: re.Match[str]) -> str:
    scheme = match.group(1) or match.group(3)
    space = match.group(2) or match.group(4)
    return f"{scheme}{space}{FILTERED}"


def scrub(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` (an event, a breadcrumb or any part of one) with secrets replaced.

    Mappings and sequences are walked; strings and bytes are scrubbed by shape; other values
    (numbers, datetimes) are kept as they are. Never raises on plain data."""
    if depth > MAX_DEPTH:
        return FILTERED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, (bytes, bytearray)):
        return scrub_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        cleaned: dict[Any, Any] = {}
        for key, item in value.items():
            new_key = scrub_text(key) if isinstance(key, str) else key
            cleaned[new_key] = FILTERED if is_secret_key(key) else scrub(item, depth + 1)
        return cleaned
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and is_secret_key(value[0]):
            # A header as a [name, value] pair.
            return [scrub_text(value[0]), FILTERED]
        return [scrub(item, depth + 1) for item in value]
    if isinstance(value, (set, frozenset)):
        return [scrub(item, depth + 1) for item in value]
    return value


#: An event's labels set by the operator in init_sentry, not data: a release such as
#: ``nzila@3.1.0`` has the shape of an e-mail address.
OPERATOR_LABELS = ("release", "environment", "dist")


def scrub_event(event: Any) -> Any:
    """``scrub`` for a whole event: the same, but its operator-set labels are kept verbatim."""
    if not isinstance(event, Mapping):
        return scrub(event)
    labels = {key: event[key] for key in OPERATOR_LABELS if isinstance(event.get(key), str)}
    return {**scrub(event), **labels}


def _scrubbed_or_dropped(event: Any, what: str) -> Any:
    try:
        return scrub_event(event) if what != "breadcrumb" else scrub(event)
    except Exception:
        # Sending an event that could not be scrubbed could send a secret: drop it, loudly.
        logger.warning("Sentry %s dropped: it could not be scrubbed", what, exc_info=True)
        return None


def before_send(event: Any, hint: Any) -> Any:
    """sentry_sdk's ``before_send``: errors and check-ins, scrubbed (or dropped)."""
    return _scrubbed_or_dropped(event, "event")


def before_send_transaction(event: Any, hint: Any) -> Any:
    """sentry_sdk's ``before_send_transaction``: spans (SQL, Redis, HTTP) scrubbed."""
    return _scrubbed_or_dropped(event, "transaction")


def before_breadcrumb(crumb: Any, hint: Any) -> Any:
    """sentry_sdk's ``before_breadcrumb``: log records and queries scrubbed when recorded."""
    return _scrubbed_or_dropped(crumb, "breadcrumb")
