"""The host project's own health checks: how a project plugs its APIs into nzila_ops.

Each is listed in NZILA_OPS['HEALTH_EXTRA_CHECKS'] and gets its endpoint /ops/health/<name>/.
"""

from __future__ import annotations

import base64
import os
import socket
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import resolve

from nzila_ops.health.base import Check


class ApiViewCheck(Check):
    """Calls one of the project's views in-process (URL resolution, view, ORM) and expects
    HTTP 200. Option ``path``. In-process, because a sync worker calling itself over HTTP
    would wait on itself."""

    def check(self) -> str | None:
        # Imported here: django.test costs every manage.py command ~25 ms at start-up.
        from django.test import RequestFactory

        path = self.options["path"]
        hosts = [h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")]
        request = RequestFactory().get(path, HTTP_HOST=hosts[0] if hosts else "localhost")
        request.user = AnonymousUser()
        response = resolve(path).func(request)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        return None


class WebSocketCheck(Check):
    """Opens a WebSocket handshake (HTTP Upgrade) to option ``url`` and expects 101.

    The example project has no WebSocket server: the settings register this check with
    NZILA_WEBSOCKET_URL as its ``url`` when that names yours (e.g. ws://127.0.0.1:8001/ws/
    for Django Channels behind daphne)."""

    def check(self) -> str | None:
        url = urlparse(self.options.get("url") or "")
        if not url.hostname:
            raise RuntimeError("no WebSocket URL configured (OPTIONS 'url')")
        port = url.port or (443 if url.scheme == "wss" else 80)
        key = base64.b64encode(os.urandom(16)).decode()
        with socket.create_connection((url.hostname, port), timeout=self.timeout_seconds()) as sock:
            sock.sendall(
                f"GET {url.path or '/'} HTTP/1.1\r\nHost: {url.hostname}:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
            )
            status_line = sock.recv(1024).split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in f"{status_line} ":
            raise RuntimeError(f"handshake answered {status_line!r}")
        return None
