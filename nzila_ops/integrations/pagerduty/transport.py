"""One HTTP exchange with PagerDuty, with bounded retries: what the Events and REST clients share.

429, 5xx and network errors are retried with backoff, at most ``attempts`` tries in all, each
wait at most ``backoff_max`` seconds (a Retry-After longer than that is not waited for: the
call gives up as a transient failure and is tried again later by whoever called it). Any other
4xx is never retried. Every failure is a one-line ``PagerDutyError`` that says whether it is
worth trying again and never contains a secret (routing key, API token).

Written on ``urllib`` rather than the ``pagerduty`` package: its clients retry 429 without limit
by default, sleep ``1.5 * 2**n`` seconds with no cap, refuse any base URL but https:// (so no
local test server) and bring in an HTTP stack of their own for two kinds of call.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import HTTPRedirectHandler, Request, build_opener

from nzila_ops.exceptions import OpsError

# Statuses PagerDuty documents as "try again": rate limited, and its own faults.
RATE_LIMITED = 429


class _NoRedirects(HTTPRedirectHandler):
    # PagerDuty's APIs never redirect. urllib would follow a 302 of a POST as a GET without
    # its body; a redirect is an answer we do not understand, reported as such.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = build_opener(_NoRedirects)


class PagerDutyError(OpsError):
    """A PagerDuty call failed. ``transient``: worth trying again later (429, 5xx, network);
    ``status`` is the HTTP status, None when no answer came."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call tries: ``attempts`` in all, waiting ``backoff`` seconds doubled each
    time (or the answer's Retry-After), never more than ``backoff_max`` in one wait."""

    attempts: int = 3
    backoff: float = 1.0
    backoff_max: float = 10.0
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RetryPolicy:
        return cls(
            attempts=int(config["ATTEMPTS"]),
            backoff=float(config["BACKOFF_SECONDS"]),
            backoff_max=float(config["BACKOFF_MAX_SECONDS"]),
            timeout=float(config["TIMEOUT_SECONDS"]),
        )

    def wait(self, tried: int, retry_after: str | None) -> float | None:
        """Seconds to wait after the ``tried``-th failed try, or None: give up now."""
        if tried >= self.attempts:
            return None
        delay = self.backoff * 2 ** (tried - 1)
        if retry_after is not None:
            # An HTTP date instead of seconds: keep our own backoff.
            with contextlib.suppress(ValueError):
                delay = max(0.0, float(retry_after))
            if delay > self.backoff_max:
                return None  # told to come back later than we wait in one call
        return min(delay, self.backoff_max)


@dataclass(frozen=True)
class Answer:
    status: int
    payload: Any


def exchange(
    method: str,
    url: str,
    *,
    what: str,
    policy: RetryPolicy,
    body: Any = None,
    headers: dict[str, str] | None = None,
    secrets: Iterable[str | None] = (),
    retry_server_errors: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> Answer:
    """Send one JSON request; the parsed answer of a 2xx. Raises PagerDutyError.

    ``retry_server_errors`` False: a 5xx or a lost answer is not retried (a REST create that
    may have been carried out; the next run finds it by name), only 429 and a refused
    connection, which PagerDuty never acted on.
    """
    hidden = [secret for secret in secrets if secret]
    data = None if body is None else json.dumps(body).encode()
    request_headers = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        request_headers["Content-Type"] = "application/json"
    tried = 0
    while True:
        tried += 1
        retry_after: str | None = None
        try:
            request = Request(url, data=data, method=method, headers=request_headers)
            with _opener.open(request, timeout=policy.timeout) as response:
                raw = response.read()
                return Answer(response.status, _json_or_none(raw))
        except HTTPError as exc:
            status = exc.code
            detail = _api_error(_json_or_none(exc.read())) or f"HTTP {status} {exc.reason}"
            transient = status == RATE_LIMITED or (status >= 500 and retry_server_errors)
            if not (status == RATE_LIMITED or status >= 500):
                refused = f"refused (HTTP {status}): {detail}"
                raise _error(what, refused, hidden, False, status) from None
            if status == RATE_LIMITED:
                retry_after = exc.headers.get("Retry-After")
                detail = "rate limited (HTTP 429)"
            else:
                detail = f"HTTP {status}: {detail}"
        except (URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
            status = None
            reason = exc.reason if isinstance(exc, URLError) else exc
            refused = isinstance(reason, ConnectionRefusedError)
            transient = refused or retry_server_errors
            if isinstance(reason, TimeoutError):
                detail = f"no answer within {policy.timeout:g} s"
            else:
                detail = f"cannot reach {_origin(url)}: {_describe(reason)}"
        if not transient:
            raise _error(
                what, f"{detail} (not retried: it may have been carried out)", hidden, True, status
            )
        delay = policy.wait(tried, retry_after)
        if delay is None:
            tries = f"{tried} tr{'y' if tried == 1 else 'ies'}"
            raise _error(what, f"{detail}, given up after {tries}", hidden, True, status)
        sleep(delay)


def _error(
    what: str, detail: str, hidden: list[str], transient: bool, status: int | None
) -> PagerDutyError:
    for secret in hidden:
        detail = detail.replace(secret, "***")
    return PagerDutyError(f"PagerDuty {what} failed: {detail}", transient=transient, status=status)


def _origin(url: str) -> str:
    # Scheme and host only: a path could hold anything, and the query never matters here.
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _describe(reason: object) -> str:
    text = " ".join(str(reason).split())
    return text or type(reason).__name__


def _api_error(payload: Any) -> str | None:
    """The error of an Events API answer (``message`` + ``errors``) or a REST one
    (``error.message`` + ``error.errors``), in one short line."""
    if not isinstance(payload, dict):
        return None
    error = payload.get("error") if isinstance(payload.get("error"), dict) else payload
    message = error.get("message")
    errors = error.get("errors")
    if not message and not errors:
        return None
    parts = [str(message or "error")]
    if isinstance(errors, list) and errors:
        parts.append("; ".join(str(e) for e in errors[:5]))
    return ": ".join(parts)[:500]


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
