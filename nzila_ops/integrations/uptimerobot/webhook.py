"""UptimeRobot alert webhooks: a monitor going down opens an incident, coming back resolves it.

``/ops/webhooks/uptimerobot/<token>/`` is the URL of a "Webhook" alert contact in UptimeRobot.
UptimeRobot signs nothing, so the URL carries a secret: ``WEBHOOKS["UPTIMEROBOT_TOKEN"]``. It
sends the alert's variables (``monitorID``, ``monitorURL``, ``monitorFriendlyName``,
``alertType``, ``alertDetails``, ``alertDateTime``...) in the query string of a GET, as form
fields of a POST ("send default variables as POST parameters"), or as a JSON object of a POST
(a custom JSON body); all three are read, so GET and POST are allowed.

- ``alertType`` 1 (down) opens or repeats the incident of the monitor's component; 2 (up)
  resolves it; 3 (SSL expiry) and others are answered 200 and ignored.
- The monitors ``sync_uptimerobot`` makes map back to components by their URL
  (``/ops/health/<check>/``, the aggregate ``/ops/health/``) or their name (``Nzila: <check>``):
  a monitor's alert and a health flip of the same check are one incident. Any other monitor of
  the account is component ``uptimerobot:<monitorID>``.
- A delivery is known by monitor, alert type and ``alertDateTime``: one sent twice does nothing
  the second time.
"""

from __future__ import annotations

import hmac
import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.urls import Resolver404, resolve
from django.utils import timezone

from nzila_ops.http import header_bytes
from nzila_ops.integrations.inbound import (
    HELD,
    IGNORED,
    OPENED,
    REOPENED,
    REPEATED,
    RESOLVED,
    UNCHANGED,
    Outcome,
    Refused,
    delivery_key,
    once,
    parse_json_object,
    text,
    webhook,
)

SOURCE = "uptimerobot"
ACTOR = "UptimeRobot"
DOWN, UP = 1, 2
MAX_FIELDS = 64
# The monitor sync_uptimerobot names "Nzila: all critical" watches /ops/health/ (every critical
# check): the plan's "API health" monitor, component "api" (INCIDENT_SEVERITIES has it, P1).
AGGREGATE_LABEL = "all critical"
AGGREGATE_COMPONENT = "api"
FIELDS = ("monitorID", "monitorURL", "monitorFriendlyName", "alertType", "alertTypeFriendlyName",
          "alertDetails", "alertDuration", "alertDateTime")  # fmt: skip


def alert_fields(request: HttpRequest, body: bytes) -> dict[str, str]:
    """The alert's variables from the query string and the body (form or JSON), as text."""
    fields = _pairs(request.META.get("QUERY_STRING", ""))
    if body.strip():
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type == "multipart/form-data":
            fields.update(_multipart(request, body))
        elif content_type == "application/json" or body.lstrip()[:1] == b"{":
            fields.update(parse_json_object(body))
        else:
            fields.update(_pairs(body.decode("utf-8", "replace")))
    return {key: text(fields[key], 500) for key in FIELDS if key in fields}


def _multipart(request: HttpRequest, body: bytes) -> dict[str, Any]:
    # The body was read here (under the size limit), so Django's request.POST cannot parse it.
    try:
        parser = MultiPartParser(request.META, io.BytesIO(body), [], request.encoding)
        data, _files = parser.parse()
    except (MultiPartParserError, ValueError, TooManyFieldsSent):
        raise Refused(400, "the multipart body cannot be parsed") from None
    return {key: data.get(key) for key in FIELDS if key in data}


def _pairs(encoded: str) -> dict[str, Any]:
    try:
        return dict(parse_qsl(encoded, keep_blank_values=True, max_num_fields=MAX_FIELDS))
    except ValueError:
        raise Refused(400, f"more than {MAX_FIELDS} fields") from None


def monitor_component(fields: dict[str, str]) -> tuple[str, bool]:
    """(component, critical) of the alerting monitor: one of ours by URL, then by name."""
    from nzila_ops.events import health_component
    from nzila_ops.health.registry import get_checks
    from nzila_ops.integrations.uptimerobot.client import FRIENDLY_NAME_PREFIX

    checks = {check.name: check for check in get_checks()}
    name = _check_of_url(fields.get("monitorURL", ""))
    if name is None:
        friendly = fields.get("monitorFriendlyName", "")
        if friendly.startswith(FRIENDLY_NAME_PREFIX):
            name = friendly.removeprefix(FRIENDLY_NAME_PREFIX)
    if name == AGGREGATE_LABEL:
        return AGGREGATE_COMPONENT, True
    if name in checks:
        return health_component(name), checks[name].critical
    monitor = fields.get("monitorID") or fields.get("monitorFriendlyName") or ""
    return f"{SOURCE}:{monitor}", False


def _check_of_url(url: str) -> str | None:
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    if not path.startswith("/") or "\x00" in path:
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if match.view_name == "nzila_ops:health":
        return AGGREGATE_LABEL
    if match.view_name == "nzila_ops:health-check":
        return str(match.kwargs.get("name", ""))
    return None


def _alert_time(value: str) -> datetime | None:
    # Unix seconds; at most now (a clock ahead of ours must not date the fault in the future).
    if not value:
        return None
    try:
        seconds = int(value)
        at = datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        raise Refused(400, f"alertDateTime is not Unix seconds: {value[:32]!r}") from None
    return min(at, timezone.now())


@webhook("UptimeRobot", methods=("GET", "POST"))
def receive(request: HttpRequest, body: bytes, config: dict[str, Any], token: str) -> Outcome:
    """The endpoint (see the module docstring)."""
    expected = config["UPTIMEROBOT_TOKEN"]
    if not expected:
        raise Refused(404, "UptimeRobot webhook not configured")
    if not hmac.compare_digest(expected, header_bytes(token)):
        raise Refused(403, "wrong token")
    fields = alert_fields(request, body)
    try:
        alert_type = int(fields.get("alertType", ""))
    except ValueError:
        raise Refused(400, "alertType must be a number (1 down, 2 up)") from None
    if not (fields.get("monitorID") or fields.get("monitorFriendlyName")):
        raise Refused(400, "no monitorID nor monitorFriendlyName")
    at = _alert_time(fields.get("alertDateTime", ""))
    if alert_type not in (DOWN, UP):
        return Outcome(IGNORED, detail=f"alertType {alert_type} changes nothing here")
    component, critical = monitor_component(fields)
    monitor = fields.get("monitorID") or fields["monitorFriendlyName"]

    def effect() -> Outcome:
        if alert_type == DOWN:
            return _down(fields, component, critical, at)
        return _up(component, at)

    if fields.get("alertDateTime"):
        delivery = f"{monitor}:{alert_type}:{fields['alertDateTime']}"
        # The key of a component's incident is the component (as the health flips').
        return once(delivery_key(SOURCE, delivery), "UptimeRobot", component, effect)
    # Without the alert's time two genuine alerts cannot be told from one sent twice; the
    # transitions are harmless to repeat, so the alert is applied.
    return effect()


def _down(fields: dict[str, str], component: str, critical: bool, at: datetime | None) -> Outcome:
    from nzila_ops.events import severity_for
    from nzila_ops.incidents import flapping

    name = fields.get("monitorFriendlyName") or fields.get("monitorID", "")
    details = fields.get("alertDetails", "")
    title = text(f"UptimeRobot: {name} is down" + (f" ({details})" if details else ""), 200)
    # The flapping rule of the health flips (docs/incidents.md), by the same function.
    incident, done = flapping.fault_seen(
        key=component, component=component, severity=severity_for(component, critical=critical),
        source=SOURCE, title=title, detected_at=at or timezone.now(), detail=details, actor=ACTOR,
    )  # fmt: skip
    return Outcome(
        {"opened": OPENED, "reopened": REOPENED, "repeated": REPEATED}[done], incident.pk
    )


def _up(component: str, at: datetime | None) -> Outcome:
    from nzila_ops.incidents import service
    from nzila_ops.models import IncidentEvent

    # The key of a component's incident is the component (automatic incidents share it).
    incident = service.find_open(component)
    if incident is None:
        return Outcome(UNCHANGED, detail="no open incident for this monitor")
    at = at or timezone.now()
    if incident.events.filter(kind=IncidentEvent.Kind.REOPENED).exists():
        # Flapping: resolved once the component has stayed up INCIDENT_FLAP_SECONDS.
        service.hold_until_settled(incident, at)
        return Outcome(HELD, incident.pk, "flapping: resolves once it has stayed up")
    if service.resolve(incident, by=ACTOR, at=at, source=SOURCE):
        return Outcome(RESOLVED, incident.pk)
    return Outcome(UNCHANGED, incident.pk, "already resolved")
