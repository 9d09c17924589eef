"""Sentry without a network: a transport that keeps every envelope, a fixture that starts
init_sentry with it and restores the SDK's global state afterwards, and a WSGI caller that goes
through Django's real WSGIHandler (which sentry's Django integration wraps; the test client
does not)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sentry_sdk
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from nzila_ops.observability import init_sentry

#: Well formed, never contacted: the transport below replaces the HTTP one.
DSN = "https://0123456789abcdef0123456789abcdef@o4242.ingest.sentry.io/4242"


class CapturingTransport(Transport):
    """Keeps the envelopes the SDK would have sent."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def items(self, kind: str) -> list[dict[str, Any]]:
        """The JSON payloads of the items of one type: event, transaction, check_in."""
        return [
            item.payload.json
            for envelope in self.envelopes
            for item in envelope.items
            if item.type == kind and item.payload.json is not None
        ]

    def serialized(self) -> str:
        """Every envelope as the SDK would put it on the wire."""
        return b"".join(envelope.serialize() for envelope in self.envelopes).decode(
            "utf-8", "replace"
        )


StartSentry = Callable[..., CapturingTransport]


@pytest.fixture(name="start_sentry")
def start_sentry_fixture() -> Iterator[StartSentry]:
    """``start_sentry(**init_sentry arguments)`` -> the transport; afterwards the SDK is back to
    no client and clean scopes, so the rest of the suite (one process) sends nothing."""
    before = sentry_sdk.get_global_scope().client
    _clean_scopes()

    def start(**arguments: Any) -> CapturingTransport:
        transport = CapturingTransport()
        assert init_sentry(dsn=DSN, transport=transport, **arguments) is True
        return transport

    yield start
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close()
    sentry_sdk.get_global_scope().set_client(before)
    _clean_scopes()


def _clean_scopes() -> None:
    for scope in (sentry_sdk.get_isolation_scope(), sentry_sdk.get_current_scope()):
        scope.clear()


def wsgi_request(
    path: str,
    method: str = "GET",
    body: bytes = b"",
    content_type: str = "",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """One request through Django's WSGIHandler: (status code, body)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path.split("?", 1)[0],
        "QUERY_STRING": path.split("?", 1)[1] if "?" in path else "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": content_type,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "HTTP_HOST": "testserver",
    }
    for name, value in (headers or {}).items():
        environ[f"HTTP_{name.upper().replace('-', '_')}"] = value
    status: list[str] = []

    def start_response(line: str, _headers: Any, _exc_info: Any = None) -> Any:
        status.append(line)
        return lambda _data: None

    # As Django's test client does: closing "old" connections at each request would close the
    # test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = get_wsgi_application()(environ, start_response)
        try:
            content = b"".join(response)
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(status[0].split()[0]), content


def dumps(payload: Any) -> str:
    return json.dumps(payload, default=str)
