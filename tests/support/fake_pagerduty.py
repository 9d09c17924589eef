"""A local stand-in for PagerDuty: Events API v2 and the REST API v2 calls nzila_ops makes.

It listens on 127.0.0.1 (a free port) and answers as PagerDuty documents:

- ``POST /v2/enqueue`` (Events API v2): 202 ``{"status": "success", "dedup_key": ...}``, or 400
  ``{"status": "invalid event", "errors": [...]}`` for an event PagerDuty would refuse (unknown
  routing key, bad action or severity, no summary). Accepted events update ``alerts``: what an
  on-call engineer sees, one alert per (routing key, dedup key).
- REST API v2 (``Authorization: Token token=...``, 401 otherwise): users (read), schedules,
  escalation policies, services and their integrations (list with ``query``, offset
  pagination and ``more``; read; create; update). Names of services and escalation policies are
  unique, as PagerDuty requires.

``script(status, ...)`` makes the next requests answer those statuses instead (429 comes with
Retry-After: 0, a 3xx with a Location); ``outage`` makes every request answer 503 until it is
cleared. Every request is recorded for tests to assert on.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.local_server import LocalServer

SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")
# Collection -> the wrapper of one object in requests and answers.
COLLECTIONS = {
    "users": "user",
    "schedules": "schedule",
    "escalation_policies": "escalation_policy",
    "services": "service",
}
UNIQUE_NAMES = ("escalation_policies", "services")


@dataclass(frozen=True)
class Recorded:
    """One request: method, path (no query), query parameters, JSON body, Authorization."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str = ""

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "DELETE")


@dataclass
class Alert:
    routing_key: str
    dedup_key: str
    status: str
    summary: str
    severity: str
    events: list[str] = field(default_factory=list)


class FakePagerDuty(LocalServer):
    """``with FakePagerDuty() as pd:`` serves ``pd.events_url`` and ``pd.api_url``."""

    def __init__(self, token: str = "u+fake-rest-api-token-0123") -> None:
        self.token = token
        self.routing_keys: set[str] = set()
        self.alerts: dict[tuple[str, str], Alert] = {}
        self.objects: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in COLLECTIONS}
        self.requests: list[Recorded] = []
        # The Events API events accepted (202), in order.
        self.accepted: list[dict[str, Any]] = []
        self.scripted: list[int] = []
        self.scripted_writes: list[int] = []
        self.outage = False
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._listen(self._handler())

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/v2/enqueue"

    @property
    def api_url(self) -> str:
        return self.base_url

    # What tests set up and look at.

    def script(self, *statuses: int) -> None:
        """The next requests answer these statuses (one each), then normal service resumes."""
        with self._lock:
            self.scripted.extend(statuses)

    def script_writes(self, *statuses: int) -> None:
        """The next REST writes (POST, PUT) answer these statuses, without acting."""
        with self._lock:
            self.scripted_writes.extend(statuses)

    def add_user(self, email: str, name: str = "") -> str:
        return self._store("users", {"type": "user", "email": email, "name": name or email})

    def add_routing_key(self) -> str:
        key = secrets.token_hex(16)
        self.routing_keys.add(key)
        return key

    def enqueued(self) -> list[Recorded]:
        """Every Events API request, accepted or not."""
        return [r for r in self.requests if r.path == "/v2/enqueue"]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.is_write and r.path != "/v2/enqueue"]

    def named(self, collection: str) -> dict[str, dict[str, Any]]:
        return {o["name"]: o for o in self.objects[collection].values()}

    # The APIs.

    def answer(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, authorization: str
    ) -> tuple[int, Any]:
        with self._lock:
            recorded = Recorded(method, path, query, body, authorization)
            self.requests.append(recorded)
            if self.scripted or self.outage:
                status = self.scripted.pop(0) if self.scripted else 503
                return status, {"status": "unavailable", "message": f"HTTP {status}"}
            if self.scripted_writes and recorded.is_write and path != "/v2/enqueue":
                status = self.scripted_writes.pop(0)
                return status, _error(f"HTTP {status}", 0)
            if path == "/v2/enqueue" and method == "POST":
                status, payload = self._event(body)
                if status == 202:
                    self.accepted.append(body)
                return status, payload
            if authorization != f"Token token={self.token}":
                return 401, {"error": {"message": "Authentication failed", "code": 2006}}
            return self._rest(method, path.strip("/").split("/"), query, body)

    def _event(self, event: Any) -> tuple[int, Any]:
        errors = []
        if not isinstance(event, dict):
            return 400, _invalid(["Event object is not JSON"])
        routing_key = event.get("routing_key")
        if routing_key not in self.routing_keys:
            errors.append("'routing_key' is invalid")
        action = event.get("event_action")
        if action not in ACTIONS:
            errors.append("'event_action' is invalid")
        dedup_key = event.get("dedup_key")
        if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
            errors.append("'dedup_key' must be a string of at most 255 characters")
        payload = event.get("payload") or {}
        if action == "trigger":
            if not payload.get("summary") or len(str(payload["summary"])) > 1024:
                errors.append("'payload.summary' is missing or longer than 1024")
            if not payload.get("source"):
                errors.append("'payload.source' is missing")
            if payload.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' is invalid")
        elif not dedup_key:
            errors.append("'dedup_key' is required for acknowledge and resolve")
        if errors:
            return 400, _invalid(errors)
        dedup_key = dedup_key or secrets.token_hex(16)
        alert = self.alerts.get((routing_key, dedup_key))
        if action == "trigger" and (alert is None or alert.status == "resolved"):
            alert = Alert(
                routing_key, dedup_key, "triggered", payload["summary"], payload["severity"]
            )
            self.alerts[(routing_key, dedup_key)] = alert
        elif alert is not None and alert.status != "resolved":
            # PagerDuty ignores an acknowledge or resolve for an alert it does not have open.
            alert.status = {"acknowledge": "acknowledged", "resolve": "resolved"}.get(
                action, alert.status
            )
        if alert is not None:
            alert.events.append(action)
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}

    def _rest(
        self, method: str, parts: list[str], query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        collection = parts[0]
        if collection not in COLLECTIONS:
            return 404, _error("Not Found", 2100)
        if method == "GET" and len(parts) == 1:
            return 200, self._list(collection, query)
        if method == "POST" and len(parts) == 1 and collection != "users":
            return self._create(collection, body)
        found = self.objects[collection].get(parts[1]) if len(parts) > 1 else None
        if found is None:
            return 404, _error("Not Found", 2100)
        wrapper = COLLECTIONS[collection]
        if method == "GET" and len(parts) == 2:
            return 200, {wrapper: found}
        if method == "PUT" and len(parts) == 2 and collection != "users":
            return self._update(collection, found, body)
        if collection == "services" and parts[2:] == ["integrations"] and method == "POST":
            fields = (body or {}).get("integration") or {}
            if fields.get("type") != "events_api_v2_inbound_integration" or not fields.get("name"):
                return 400, _error("Invalid Input Provided", 2001, ["Type or name is invalid."])
            integration = {
                "id": f"PI{next(self._ids):05d}",
                "type": fields["type"],
                "name": fields["name"],
                "integration_key": secrets.token_hex(16),
                "service": {"id": found["id"], "type": "service_reference"},
            }
            self.routing_keys.add(integration["integration_key"])
            found["integrations"].append(integration)
            return 201, {"integration": integration}
        return 404, _error("Not Found", 2100)

    def _list(self, collection: str, query: dict[str, list[str]]) -> dict[str, Any]:
        text = (query.get("query") or [""])[-1].lower()
        offset = int((query.get("offset") or ["0"])[-1])
        limit = min(int((query.get("limit") or ["25"])[-1]), 100)
        found = [
            o
            for o in self.objects[collection].values()
            if text in str(o.get("name", "")).lower() or text in str(o.get("email", "")).lower()
        ]
        page = [dict(o) for o in found[offset : offset + limit]]
        for entry in page:
            if collection == "schedules":
                entry.pop("schedule_layers", None)  # the list has summaries only
            if collection == "services" and "integrations" not in query.get("include[]", []):
                entry["integrations"] = [
                    {"id": i["id"], "type": "events_api_v2_inbound_integration_reference"}
                    for i in entry["integrations"]
                ]
        return {
            collection: page,
            "limit": limit,
            "offset": offset,
            "more": offset + limit < len(found),
            "total": None,
        }

    def _create(self, collection: str, body: Any) -> tuple[int, Any]:
        wrapper = COLLECTIONS[collection]
        fields = (body or {}).get(wrapper)
        problem = self._invalid_fields(collection, fields, None)
        if problem:
            return 400, _error("Invalid Input Provided", 2001, [problem])
        fields = dict(fields)
        if collection == "services":
            fields["integrations"] = []
        object_id = self._store(collection, fields)
        return 201, {wrapper: self.objects[collection][object_id]}

    def _update(self, collection: str, found: dict[str, Any], body: Any) -> tuple[int, Any]:
        wrapper = COLLECTIONS[collection]
        fields = (body or {}).get(wrapper)
        problem = self._invalid_fields(collection, fields, found["id"])
        if problem:
            return 400, _error("Invalid Input Provided", 2001, [problem])
        fields = {k: v for k, v in fields.items() if k not in ("id", "integrations")}
        found.update(fields)
        self._normalise(collection, found)
        return 200, {wrapper: found}

    def _invalid_fields(self, collection: str, fields: Any, own_id: str | None) -> str | None:
        if not isinstance(fields, dict) or not fields.get("name"):
            return "Name cannot be empty."
        if collection in UNIQUE_NAMES and any(
            o["name"] == fields["name"] and o["id"] != own_id
            for o in self.objects[collection].values()
        ):
            return "Name has already been taken."
        if collection == "schedules" and own_id is None and not fields.get("schedule_layers"):
            return "Schedule must have at least one layer."
        if collection == "services" and own_id is None and not fields.get("escalation_policy"):
            return "Escalation policy must be specified."
        return None

    def _store(self, collection: str, fields: dict[str, Any]) -> str:
        prefix = {"users": "PU", "schedules": "PS", "escalation_policies": "PE", "services": "PV"}
        object_id = f"{prefix[collection]}{next(self._ids):05d}"
        self.objects[collection][object_id] = {**fields, "id": object_id}
        self._normalise(collection, self.objects[collection][object_id])
        return object_id

    def _normalise(self, collection: str, entry: dict[str, Any]) -> None:
        # As PagerDuty answers: times in UTC with a Z, every layer and rule with an id.
        for layer in entry.get("schedule_layers") or []:
            layer.setdefault("id", f"PL{next(self._ids):05d}")
            layer.setdefault("end", None)
            for key in ("start", "rotation_virtual_start"):
                if layer.get(key):
                    instant = datetime.fromisoformat(layer[key]).astimezone(UTC)
                    layer[key] = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
        for rule in entry.get("escalation_rules") or []:
            rule.setdefault("id", f"PR{next(self._ids):05d}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                url = urlsplit(self.path)
                status, payload = fake.answer(
                    self.command,
                    url.path,
                    parse_qs(url.query),
                    body,
                    self.headers.get("Authorization", ""),
                )
                data = json.dumps(payload).encode()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                if 300 <= status < 400:
                    self.send_header("Location", fake.events_url)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _invalid(errors: list[str]) -> dict[str, Any]:
    return {"status": "invalid event", "message": "Event object is invalid", "errors": errors}


def _error(message: str, code: int, errors: list[str] | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "code": code, "errors": errors or []}}
