"""UptimeRobot keyword monitors for the health endpoints, kept in step by ``sync_monitors``.

One monitor per endpoint: ``/ops/health/`` (every critical check) and ``/ops/health/<name>/``
for each check. Each is a keyword monitor that alerts when ``"status": "ok"`` is missing from the
response, so a failing check, a 5xx page or a proxy's error page all raise an alert. Monitors are
matched to endpoints by URL: a monitor whose URL is one of ours is ours, every other monitor in
the account is left alone.

The client speaks UptimeRobot API v2 (POST, form-encoded, JSON back) with the standard library
only. The API key travels in the request body and never appears in an error message or repr.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from django.urls import reverse

from nzila_ops.conf import DEFAULTS, get_config
from nzila_ops.exceptions import ConfigurationError, OpsError

#: What a healthy health response contains exactly once (its overall status).
HEALTHY_KEYWORD = '"status": "ok"'
KEYWORD_MONITOR = 2
# keyword_type 2 is "alert when the keyword does NOT exist". Type 1 ("alert when it exists") is
# the common mistake: it alerts on every healthy response and stays silent during an outage.
ALERT_WHEN_KEYWORD_MISSING = 2
# getMonitors' default and maximum page size.
PAGE_SIZE = 50
TIMEOUT_SECONDS = 15.0
FRIENDLY_NAME_PREFIX = "Nzila: "

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
# The fields sync_monitors owns; anything else on a monitor (timeout, maintenance windows, a
# pause) is the operator's and is never touched.
SYNCED_FIELDS = ("friendly_name", "interval", "keyword_type", "keyword_value", "alert_contacts")


@dataclass(frozen=True)
class Change:
    """What ``sync_monitors`` did, or in a dry run would do, to the monitor of one endpoint.

    ``action`` is ``"created"``, ``"updated"`` or ``"unchanged"``; ``fields`` names what differed
    on an update; ``monitor_id`` is None only for a monitor a dry run would create.
    """

    name: str
    url: str
    action: str
    monitor_id: int | None = None
    fields: tuple[str, ...] = ()
    dry_run: bool = False


class UptimeRobotClient:
    """The UptimeRobot API v2 calls sync_monitors needs. Every failure is a one-line OpsError."""

    def __init__(
        self,
        api_key: str,
        api_url: str = DEFAULTS["UPTIMEROBOT"]["API_URL"],
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self._api_key = api_key
        self.api_url = api_url.rstrip("/") + "/"
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"UptimeRobotClient({self.api_url!r})"

    def get_monitors(self, search: str | None = None) -> list[dict[str, Any]]:
        """Every monitor (whose URL or friendly name contains ``search``), all pages."""
        monitors: list[dict[str, Any]] = []
        params: dict[str, Any] = {"alert_contacts": 1, "limit": PAGE_SIZE}
        if search:
            params["search"] = search
        while True:
            page = self.call("getMonitors", offset=len(monitors), **params)
            batch = page.get("monitors") or []
            monitors.extend(batch)
            total = int((page.get("pagination") or {}).get("total", 0))
            if not batch or len(monitors) >= total:
                return monitors

    def new_monitor(self, **params: Any) -> int:
        """Create a monitor; returns its id."""
        return int(self.call("newMonitor", **params)["monitor"]["id"])

    def edit_monitor(self, monitor_id: int, **params: Any) -> None:
        """Change the given fields of a monitor (its type cannot be changed)."""
        self.call("editMonitor", id=monitor_id, **params)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """POST one API method; the parsed JSON of a ``"stat": "ok"`` answer."""
        body = urlencode({"api_key": self._api_key, "format": "json", **params}).encode()
        request = Request(
            self.api_url + method,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cache-Control": "no-cache",
                "Accept": "application/json",
            },
        )
        try:
            with urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except HTTPError as exc:
            detail = _api_error(_json_or_none(exc.read())) or f"HTTP {exc.code} {exc.reason}"
            if exc.code == 429:
                retry = exc.headers.get("Retry-After", "a while")
                detail = f"rate limited (HTTP 429), retry after {retry} s"
            raise self._error(method, detail) from None
        except URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                reason = f"no answer within {self.timeout:g} s"
            raise self._error(method, f"cannot reach {self.api_url}: {reason}") from None
        except TimeoutError:
            raise self._error(method, f"no answer within {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._error(method, f"connection failed: {exc!r}") from None
        payload = _json_or_none(raw)
        if not isinstance(payload, dict):
            raise self._error(method, f"answer is not JSON: {raw[:80]!r}")
        if payload.get("stat") != "ok":
            raise self._error(method, _api_error(payload) or f"stat is {payload.get('stat')!r}")
        return payload

    def _error(self, method: str, detail: str) -> OpsError:
        # The API echoes a rejected key back (error.passed_value); make sure nothing else does.
        if self._api_key:
            detail = detail.replace(self._api_key, "***")
        return OpsError(f"UptimeRobot {method} failed: {detail}")


def sync_monitors(check_names: list[str], dry_run: bool = False) -> list[Change]:
    """Create or update one keyword monitor per health endpoint; idempotent.

    ``check_names`` are the checks with their own endpoint (``/ops/health/<name>/``); the overall
    endpoint ``/ops/health/`` is always included. A monitor whose synced fields already match is
    unchanged, one that differs is edited (only the differing fields), a missing one is created.
    A dry run reads the monitors and changes nothing. Raises ConfigurationError when API_KEY or
    BASE_URL is missing, OpsError when the API fails or a monitor at one of our URLs is of
    another type (UptimeRobot cannot change a monitor's type); nothing is written in that case.
    """
    config = uptimerobot_config()
    client = UptimeRobotClient(config["API_KEY"], config["API_URL"])
    health_url = config["BASE_URL"] + reverse("nzila_ops:health")
    existing: dict[str, dict[str, Any]] = {}
    for monitor in sorted(client.get_monitors(search=health_url), key=lambda m: int(m["id"])):
        # Two monitors on one URL (one made by hand): the oldest is ours, the other is left alone.
        existing.setdefault(str(monitor.get("url", "")), monitor)

    plan: list[tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]] = []
    for wanted in desired_monitors(config, check_names):
        current = existing.get(wanted["url"])
        if current is not None and _int(current.get("type")) != KEYWORD_MONITOR:
            raise OpsError(
                f"UptimeRobot monitor {current['id']} ({wanted['url']}) is of type "
                f"{current.get('type')}, not keyword ({KEYWORD_MONITOR}), and UptimeRobot cannot "
                "change a monitor's type: delete it in the dashboard and run again"
            )
        plan.append((wanted, current, {} if current is None else _differences(current, wanted)))

    changes = []
    for wanted, current, differences in plan:
        name, url = wanted["friendly_name"], wanted["url"]
        if current is None:
            monitor_id = None if dry_run else client.new_monitor(**_without_empty(wanted))
            changes.append(Change(name, url, CREATED, monitor_id, dry_run=dry_run))
            continue
        monitor_id = int(current["id"])
        if differences:
            if not dry_run:
                client.edit_monitor(monitor_id, **differences)
            changes.append(Change(name, url, UPDATED, monitor_id, tuple(differences), dry_run))
        else:
            changes.append(Change(name, url, UNCHANGED, monitor_id, dry_run=dry_run))
    return changes


def desired_monitors(config: dict[str, Any], check_names: list[str]) -> list[dict[str, Any]]:
    """The newMonitor parameters of every endpoint's monitor: the overall one first."""
    # reverse(): the host may mount nzila_ops.urls under a prefix of its own. Check names are
    # URL-safe and unique (registry).
    base = config["BASE_URL"]
    endpoints = [("all critical", base + reverse("nzila_ops:health"))]
    endpoints += [
        (name, base + reverse("nzila_ops:health-check", args=[name])) for name in check_names
    ]
    return [
        {
            "friendly_name": FRIENDLY_NAME_PREFIX + label,
            "url": url,
            "type": KEYWORD_MONITOR,
            "keyword_type": ALERT_WHEN_KEYWORD_MISSING,
            "keyword_value": HEALTHY_KEYWORD,
            "interval": config["INTERVAL"],
            "alert_contacts": config["ALERT_CONTACTS"],
        }
        for label, url in endpoints
    ]


def uptimerobot_config() -> dict[str, Any]:
    """``NZILA_OPS["UPTIMEROBOT"]`` (completed with its defaults by get_config()), with what a
    sync needs checked and ALERT_CONTACTS in API form."""
    where = "NZILA_OPS['UPTIMEROBOT']"
    config = dict(get_config()["UPTIMEROBOT"])
    if not config["API_KEY"]:
        raise ConfigurationError(
            f"{where}['API_KEY'] is not set: use the account's main API key "
            "(UptimeRobot dashboard, Integrations & API)"
        )
    base_url = str(config["BASE_URL"] or "").rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        raise ConfigurationError(
            f"{where}['BASE_URL'] must be the deployment's public URL, like "
            f"'https://hub.example.com' (it is {config['BASE_URL']!r})"
        )
    config["BASE_URL"] = base_url
    interval = config["INTERVAL"]
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 30:
        raise ConfigurationError(f"{where}['INTERVAL'] must be seconds, at least 30")
    contacts = config["ALERT_CONTACTS"] or []
    if isinstance(contacts, str | int):
        contacts = str(contacts).split(",")
    config["ALERT_CONTACTS"] = "-".join(_alert_contact(c) for c in contacts)
    return config


def _alert_contact(contact: Any) -> str:
    # A bare id means "alert at once (threshold 0), never repeat (recurrence 0)".
    parts = str(contact).strip().split("_")
    if len(parts) == 1:
        parts += ["0", "0"]
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise ConfigurationError(
            f"NZILA_OPS['UPTIMEROBOT']['ALERT_CONTACTS'] entry {contact!r} must be an alert "
            "contact id like '0123456', or 'id_threshold_recurrence' like '0123456_5_0'"
        )
    return "_".join(parts)


def _differences(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The synced fields of ``wanted`` that ``current`` (a getMonitors entry) lacks."""
    have = {
        "friendly_name": str(current.get("friendly_name", "")),
        "interval": _int(current.get("interval")),
        # The API answers these as numbers or strings depending on the monitor's age.
        "keyword_type": _int(current.get("keyword_type")),
        "keyword_value": str(current.get("keyword_value") or ""),
        "alert_contacts": {
            (_int(c.get("id")), _int(c.get("threshold")) or 0, _int(c.get("recurrence")) or 0)
            for c in current.get("alert_contacts") or []
        },
    }
    # As numbers, so that an id the API answers without its leading zeros still matches.
    contacts = {
        tuple(int(part) for part in contact.split("_"))
        for contact in wanted["alert_contacts"].split("-")
        if contact
    }
    want = {**wanted, "alert_contacts": contacts}
    return {field: wanted[field] for field in SYNCED_FIELDS if have[field] != want[field]}


def _without_empty(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value != ""}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _api_error(payload: Any) -> str | None:
    """``error.type: error.message`` of an API answer, never ``error.passed_value``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        return None
    error = payload["error"]
    message = error.get("message") or f"parameter {error.get('parameter_name', '?')}"
    return f"{error.get('type', 'error')}: {message}"


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
