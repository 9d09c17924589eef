"""A local stand-in for the UptimeRobot API v2: the monitor calls nzila_ops makes, in memory.

It listens on 127.0.0.1 (a free port) and answers like the real API: POST, form-encoded,
``{"stat": "ok", ...}`` or ``{"stat": "fail", "error": {...}}`` with HTTP 200. A wrong ``api_key``
fails the way UptimeRobot does, echoing the key back in ``error.passed_value`` (so tests can
check that we never repeat it). Every request is recorded for tests to assert on.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests.support.local_server import LocalServer

PAGE_SIZE = 50
KEYWORD = 2


@dataclass(frozen=True)
class Recorded:
    """One request as the API saw it: the method (``getMonitors``…) and its form fields."""

    method: str
    params: dict[str, str]


class FakeUptimeRobot(LocalServer):
    """``with FakeUptimeRobot(api_key) as robot:`` serves ``robot.api_url`` until the block ends.

    ``monitors`` maps id to the monitor as getMonitors returns it (with ``alert_contacts``).
    """

    def __init__(self, api_key: str = "u123456-fakefakefakefake") -> None:
        self.api_key = api_key
        self.monitors: dict[int, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        # An HTTP status every call answers with instead (a 5xx outage; 429 comes with
        # Retry-After, as UptimeRobot's rate limit does), or None.
        self.http_error: int | None = None
        # A body every call answers with instead, with HTTP 200 (a proxy's HTML page), or None.
        self.raw_answer: bytes | None = None
        self._ids = itertools.count(777_000_001)
        self._lock = threading.Lock()
        self._listen(self._handler())

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v2/"

    def add_monitor(self, **fields: Any) -> int:
        """A monitor that already exists in the account (made in the dashboard)."""
        with self._lock:
            monitor_id = next(self._ids)
            self.monitors[monitor_id] = {
                "id": monitor_id,
                "type": 1,
                "interval": 300,
                "keyword_type": None,
                "keyword_value": "",
                "alert_contacts": [],
                "status": 2,
                **fields,
            }
            return monitor_id

    def methods(self) -> list[str]:
        """The API methods called so far, in order."""
        return [request.method for request in self.requests]

    def calls(self, method: str) -> list[dict[str, str]]:
        """The form fields of every call of ``method``."""
        return [request.params for request in self.requests if request.method == method]

    def by_url(self) -> dict[str, dict[str, Any]]:
        return {monitor["url"]: monitor for monitor in self.monitors.values()}

    def answer(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(Recorded(method, params))
            if params.get("api_key") != self.api_key:
                return _fail(
                    "invalid_parameter",
                    "api_key not found.",
                    parameter_name="api_key",
                    passed_value=params.get("api_key", ""),
                )
            if params.get("format") != "json":
                return _fail("invalid_parameter", "format must be json.", parameter_name="format")
            handler = {
                "getMonitors": self._get_monitors,
                "newMonitor": self._new_monitor,
                "editMonitor": self._edit_monitor,
            }.get(method)
            if handler is None:
                return _fail("not_found", f"method {method} not found.")
            return handler(params)

    def _get_monitors(self, params: dict[str, str]) -> dict[str, Any]:
        offset = int(params.get("offset", 0))
        limit = min(int(params.get("limit", PAGE_SIZE)), PAGE_SIZE)
        search = params.get("search", "").lower()
        found = [
            monitor
            for monitor in sorted(self.monitors.values(), key=lambda m: m["id"])
            if search in monitor["url"].lower() or search in monitor["friendly_name"].lower()
        ]
        page = []
        for monitor in found[offset : offset + limit]:
            entry = dict(monitor)
            if params.get("alert_contacts") != "1":
                entry.pop("alert_contacts", None)
            page.append(entry)
        return {
            "stat": "ok",
            "pagination": {"offset": offset, "limit": limit, "total": len(found)},
            "monitors": page,
        }

    def _new_monitor(self, params: dict[str, str]) -> dict[str, Any]:
        missing = [key for key in ("friendly_name", "url", "type") if not params.get(key)]
        if int(params.get("type") or 0) == KEYWORD:
            missing += [key for key in ("keyword_type", "keyword_value") if not params.get(key)]
        if missing:
            return _fail("missing_parameter", f"{missing[0]} parameter is missing.")
        if any(
            m["url"] == params["url"] and m["type"] == int(params["type"])
            for m in self.monitors.values()
        ):
            return _fail("already_exists", "monitor already exists.")
        monitor_id = next(self._ids)
        self.monitors[monitor_id] = {
            "id": monitor_id,
            "status": 1,
            "keyword_type": None,
            "keyword_value": "",
            "alert_contacts": [],
            **_fields(params),
        }
        return {"stat": "ok", "monitor": {"id": monitor_id, "status": 1}}

    def _edit_monitor(self, params: dict[str, str]) -> dict[str, Any]:
        monitor = self.monitors.get(int(params.get("id") or 0))
        if monitor is None:
            return _fail("not_found", "monitor not found.")
        fields = _fields(params)
        if "type" in fields and fields["type"] != monitor["type"]:
            return _fail("invalid_parameter", "monitor type cannot be changed.")
        monitor.update(fields)
        return {"stat": "ok", "monitor": {"id": monitor["id"]}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                params = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
                method = self.path.rstrip("/").rsplit("/", 1)[-1]
                if robot.http_error is not None or robot.raw_answer is not None:
                    with robot._lock:
                        robot.requests.append(Recorded(method, params))
                    if robot.raw_answer is not None:
                        self._send(200, robot.raw_answer, "text/html")
                    else:
                        self._send(robot.http_error or 500, {"error": "Service Unavailable"})
                    return
                self._send(200, robot.answer(method, params))

            def _send(
                self, status: int, payload: dict[str, Any] | bytes, kind: str = "application/json"
            ) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "60")
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _fields(params: dict[str, str]) -> dict[str, Any]:
    """Form fields as getMonitors reports them: numbers as numbers, contacts as a list."""
    fields: dict[str, Any] = {}
    for key in ("friendly_name", "url", "keyword_value"):
        if key in params:
            fields[key] = params[key]
    for key in ("type", "interval", "keyword_type"):
        if key in params:
            fields[key] = int(params[key])
    if "alert_contacts" in params:
        contacts = []
        for contact in filter(None, params["alert_contacts"].split("-")):
            contact_id, threshold, recurrence = contact.split("_")
            contacts.append(
                {
                    "id": contact_id,
                    "type": 2,
                    "value": f"ops+{contact_id}@example.com",
                    "threshold": int(threshold),
                    "recurrence": int(recurrence),
                }
            )
        fields["alert_contacts"] = contacts
    return fields


def _fail(kind: str, message: str, **extra: str) -> dict[str, Any]:
    return {"stat": "fail", "error": {"type": kind, **extra, "message": message}}
