"""The example project's WebSocket check, the model of a host's own check: its URL is an
option the settings give it, and without one it fails in one line instead of guessing."""

from __future__ import annotations

import socket
import threading

import pytest

from nzila_export_hub.checks import WebSocketCheck
from nzila_ops.health.base import Status


def test_without_a_url_the_check_fails_saying_so() -> None:
    result = WebSocketCheck(name="websocket").run()
    assert result.status == Status.FAILING
    assert "no WebSocket URL configured (OPTIONS 'url')" in result.reason


@pytest.mark.parametrize("answer", [b"HTTP/1.1 101 Switching Protocols", b"HTTP/1.1 404 Not Found"])
def test_the_handshake_passes_only_on_101(answer: bytes) -> None:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(answer + b"\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    url = f"ws://127.0.0.1:{server.getsockname()[1]}/ws/"
    try:
        result = WebSocketCheck(name="websocket", timeout=5, url=url).run()
    finally:
        server.close()
    assert (result.status == Status.OK) == (b" 101 " in answer)
