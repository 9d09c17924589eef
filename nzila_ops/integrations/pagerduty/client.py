"""PagerDuty Events API v2: trigger, acknowledge and resolve an alert by its dedup key.

An incident of ours is one PagerDuty alert: its key is the ``dedup_key``, so a trigger sent
twice (a retry whose answer was lost) is one alert, and acknowledge/resolve find it. Each
component is routed to one of the PagerDuty services (``COMPONENT_SERVICES``) whose routing key
is in ``ROUTING_KEYS``. The routing key travels in the body and never appears in an error.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from nzila_ops.conf import DEFAULTS
from nzila_ops.integrations.pagerduty.transport import RetryPolicy, exchange

TRIGGER, ACKNOWLEDGE, RESOLVE = "trigger", "acknowledge", "resolve"
ACTIONS = (TRIGGER, ACKNOWLEDGE, RESOLVE)
SEVERITIES = ("critical", "error", "warning", "info")
# Events API v2 limits: longer values are refused with a 400 (the whole event lost).
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
MAX_SOURCE = 255
ACCEPTED = 202


class EventsClient:
    """Send Events API v2 events to ``events_url`` (``.../v2/enqueue``)."""

    def __init__(
        self,
        events_url: str = DEFAULTS["PAGERDUTY"]["EVENTS_URL"],
        policy: RetryPolicy | None = None,
    ) -> None:
        self.events_url = events_url
        self.policy = policy or RetryPolicy()

    def __repr__(self) -> str:
        return f"EventsClient({self.events_url!r})"

    def send(self, event: dict[str, Any]) -> str:
        """Enqueue one event (from ``build_event``); the dedup key PagerDuty answers with.
        Raises PagerDutyError (``transient`` for 429, 5xx and network errors past the bound)."""
        answer = exchange(
            "POST",
            self.events_url,
            what=f"{event.get('event_action', 'event')} event",
            policy=self.policy,
            body=event,
            secrets=[event.get("routing_key")],
        )
        payload = answer.payload if isinstance(answer.payload, dict) else {}
        return str(payload.get("dedup_key") or event.get("dedup_key") or "")


def build_event(
    action: str,
    *,
    routing_key: str,
    dedup_key: str,
    summary: str = "",
    source: str = "",
    severity: str = "error",
    component: str = "",
    group: str = "",
    event_class: str = "",
    timestamp: datetime | None = None,
    custom_details: dict[str, Any] | None = None,
    links: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """An Events API v2 event. A trigger carries the payload (summary, source, severity...);
    acknowledge and resolve carry only the dedup key, as the API wants. Values past the API's
    limits are shortened rather than have PagerDuty refuse the whole page."""
    if action not in ACTIONS:
        raise ValueError(f"event action {action!r} is not one of {ACTIONS}")
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": pagerduty_dedup_key(dedup_key),
    }
    if action != TRIGGER:
        return event
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r} is not one of {SEVERITIES}")
    payload: dict[str, Any] = {
        "summary": _shorten(_one_line(summary) or dedup_key, MAX_SUMMARY),
        "source": _shorten(_one_line(source) or "nzila_ops", MAX_SOURCE),
        "severity": severity,
    }
    if timestamp is not None:
        payload["timestamp"] = timestamp.isoformat()
    for key, value in (("component", component), ("group", group), ("class", event_class)):
        if value:
            payload[key] = _shorten(_one_line(value), MAX_SOURCE)
    if custom_details:
        payload["custom_details"] = custom_details
    event["payload"] = payload
    if links:
        event["links"] = links
    event["client"] = "nzila_ops"
    return event


def pagerduty_dedup_key(key: str) -> str:
    """``key`` itself when the API takes it; a longer one keeps its start and gains a hash of
    the whole, so that distinct long keys stay distinct and the same key maps the same way."""
    if len(key) <= MAX_DEDUP_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: MAX_DEDUP_KEY - len(digest) - 1]}~{digest}"


def service_for(component: str, config: dict[str, Any]) -> str:
    """The PagerDuty service a component pages: the first matching ``COMPONENT_SERVICES``
    pattern, else ``DEFAULT_SERVICE``."""
    for pattern, service in config["COMPONENT_SERVICES"].items():
        if fnmatchcase(component, pattern):
            return str(service)
    return str(config["DEFAULT_SERVICE"])


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
