"""What the inbound alert webhooks (PagerDuty, UptimeRobot, Sentry) share.

Each vendor's ``webhook.py`` says how its requests are authenticated and what they mean; this
module gives them one shape of answer:

- the method is checked first (405, with ``Allow``), then the body's size (413) before a byte of
  it is read past the limit, then the vendor's signature or token (401/403, nothing recorded),
  then the body's form (400), and only then is anything done;
- every answer is JSON and never cached; bad input is a 4xx with one line saying why, never a
  500 (a 5xx makes the vendor retry, which is right only when the fault is ours);
- a webhook whose secret is not configured answers 404: it is switched off;
- ``once()`` makes a delivery idempotent: its id (the vendor's delivery id, or a digest of the
  signed body) is kept in a receipt on the incident's timeline, so a replay finds it and does
  nothing.

Views are exempt from CSRF: a vendor has no CSRF cookie, and every request is authenticated by a
signature or a secret instead.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from nzila_ops.conf import DEFAULTS, get_config
from nzila_ops.exceptions import ConfigurationError

logger = logging.getLogger("nzila_ops.webhooks")

# What a view may answer after its work: the incident transition it made, or why none.
OPENED, REPEATED, ACKNOWLEDGED, RESOLVED, REOPENED = (
    "opened", "repeated", "acknowledged", "resolved", "reopened")  # fmt: skip
UNCHANGED, DUPLICATE, IGNORED = "unchanged", "duplicate", "ignored"
# A flapping component came back: its incident resolves once it has stayed up (incidents.md).
HELD = "held"
# Longest delivery id kept in a receipt; longer ids are digested.
MAX_DELIVERY_ID = 200
RECEIPT_PREFIX = "webhook delivery "
# Shorter UptimeRobot tokens are a deployment warning (nzila_ops.W004): they are guessable.
MIN_TOKEN_LENGTH = 20
LOCK_PREFIX = "nzila_ops.webhook:"


class Refused(Exception):
    """A request refused with ``status`` and a one-line ``message`` (shown to the sender)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Outcome:
    """What a webhook did: ``result`` is one of the constants above; ``incident`` its pk."""

    result: str
    incident: int | None = None
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok", "result": self.result}
        if self.incident is not None:
            body["incident"] = self.incident
        if self.detail:
            body["detail"] = self.detail
        return body


def webhook_config() -> dict[str, Any]:
    """``NZILA_OPS["WEBHOOKS"]`` checked (ConfigurationError, system check E007): secrets as
    bytes (PAGERDUTY_SECRETS a list; a comma-separated string, as an environment variable gives
    it, is split), MAX_BODY_BYTES an integer of at least 1024, the Sentry severities P0-P3."""
    where = "NZILA_OPS['WEBHOOKS']"
    config = dict(get_config()["WEBHOOKS"])
    secrets = config["PAGERDUTY_SECRETS"] or []
    if isinstance(secrets, str | bytes):
        secrets = secrets.split("," if isinstance(secrets, str) else b",")
    if not isinstance(secrets, list | tuple) or not all(
        isinstance(s, str | bytes) for s in secrets
    ):
        raise ConfigurationError(f"{where}['PAGERDUTY_SECRETS'] must be a list of secrets")
    config["PAGERDUTY_SECRETS"] = [_bytes(s).strip() for s in secrets if _bytes(s).strip()]
    for key in ("UPTIMEROBOT_TOKEN", "SENTRY_CLIENT_SECRET"):
        value = config[key]
        if value is not None and not isinstance(value, str | bytes):
            raise ConfigurationError(f"{where}[{key!r}] must be a string or None")
        config[key] = _bytes(value).strip() if value else None
    severities = ("P0", "P1", "P2", "P3")
    if config["SENTRY_ISSUE_SEVERITY"] not in severities:
        raise ConfigurationError(f"{where}['SENTRY_ISSUE_SEVERITY'] must be one of {severities}")
    metric = config["SENTRY_METRIC_SEVERITIES"]
    if not isinstance(metric, dict) or not all(
        trigger in ("critical", "warning") and severity in severities
        for trigger, severity in metric.items()
    ):
        raise ConfigurationError(
            f"{where}['SENTRY_METRIC_SEVERITIES'] must map 'critical' and 'warning' to one of "
            f"{severities}"
        )
    # Merged over the defaults: naming one trigger must not leave the other without a severity.
    config["SENTRY_METRIC_SEVERITIES"] = {**DEFAULTS["WEBHOOKS"]["SENTRY_METRIC_SEVERITIES"],
                                          **metric}  # fmt: skip
    limit = config["MAX_BODY_BYTES"]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1024:
        raise ConfigurationError(f"{where}['MAX_BODY_BYTES'] must be an integer of at least 1024")
    return config


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def check_signature(
    request: HttpRequest, meta_key: str, label: str, matches: Callable[[str], bool]
) -> None:
    """Refuse (401) a request without the signature header ``label``, or whose signature does
    not ``match`` its body: nothing of it is read further, nothing recorded."""
    header = request.META.get(meta_key, "")
    if not header:
        raise Refused(401, f"{label} missing")
    if not matches(header):
        raise Refused(401, f"{label} does not match")


def check_configured_signature(
    request: HttpRequest,
    vendor: str,
    secret: Any,
    meta_key: str,
    label: str,
    matches: Callable[[str], bool],
) -> None:
    """Refuse (404) when the vendor's ``secret`` (or list of secrets) is not configured: the
    webhook is switched off; else refuse (401) as ``check_signature`` does."""
    if not secret:
        raise Refused(404, f"{vendor} webhook not configured")
    check_signature(request, meta_key, label, matches)


def hmac_sha256_hex(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).hexdigest().encode()


def signature_matches(expected: list[bytes], given: list[bytes]) -> bool:
    """True when one given signature equals one expected signature, compared in constant time
    (every pair is compared, so the time does not say which one matched)."""
    found = False
    for want in expected:
        for candidate in given:
            found |= hmac.compare_digest(want, candidate.strip().lower())
    return found


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or Refused(400)."""
    try:
        payload = json.loads(body)
    # RecursionError: a deeply nested body; ValueError covers invalid UTF-8 and JSON, and an
    # integer too long to convert.
    except (ValueError, RecursionError):
        raise Refused(400, "body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise Refused(400, "body is not a JSON object")
    return payload


def text(value: Any, limit: int = 500) -> str:
    """A payload value as one line of text for a title or an actor, at most ``limit`` long."""
    if value is None or isinstance(value, dict | list):
        return ""
    line = " ".join(str(value).split())
    # Lone surrogates (valid in JSON) cannot be stored in a PostgreSQL text column.
    line = line.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def when(value: Any) -> datetime | None:
    """An ISO 8601 time from a payload, at most now (a clock ahead of ours must not put an
    acknowledgement in the future). None when absent; Refused(400) when not a time."""
    if value in (None, ""):
        return None
    parsed = None
    if isinstance(value, str) and len(value) <= 64:
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise Refused(400, f"not an ISO 8601 time: {text(value, 64)!r}")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return min(parsed, timezone.now())


def delivery_key(vendor: str, delivery: str) -> str:
    """The id of one delivery in its receipt: ``<vendor>:<delivery id>``, a SHA-256 digest in
    place of an id too long (or not printable) to keep."""
    value = f"{vendor}:{delivery}"
    if len(value) > MAX_DELIVERY_ID or not value.isprintable():
        value = f"{vendor}:sha256:{hashlib.sha256(_bytes(delivery)).hexdigest()}"
    return value


def body_id(body: bytes) -> str:
    """A delivery id for a vendor that sends none it signs: the signed body's digest."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def once(delivery_id: str, vendor: str, key: str, effect: Callable[[], Outcome]) -> Outcome:
    """Run ``effect`` unless the delivery ``delivery_id`` was handled before.

    The receipt of a delivery is a note on the timeline of the incident it was about, written
    in the same transaction as the change it made ("webhook delivery <id>", then what it did):
    in the database, so every process and host sees it, whatever the cache, and an operator
    reading the timeline sees which delivery made which change. A delivery that changed nothing
    (already acknowledged here) gets its receipt too, so that its replay is recognised after
    the incident moved on. Two deliveries of one id at once are serialised by a transaction
    advisory lock on PostgreSQL: the second finds the first's receipt. A delivery about no
    incident of ours changes nothing and leaves no receipt.

    ``key`` is the key of the incidents the delivery is about (``effect`` only ever changes one
    of them): receipts are looked up among their notes, through the indexed key, not among
    every note ever written."""
    from nzila_ops.incidents import service

    with transaction.atomic():
        _lock(delivery_id)
        if _receipt_exists(delivery_id, key):
            return Outcome(DUPLICATE)
        outcome = effect()
        if outcome.incident is not None:
            what = outcome.result + (f": {outcome.detail}" if outcome.detail else "")
            service.add_note(outcome.incident, by=vendor, text=_receipt(delivery_id) + what)
        return outcome


def _receipt(delivery_id: str) -> str:
    return f"{RECEIPT_PREFIX}{delivery_id}\n"


def _receipt_exists(delivery_id: str, key: str) -> bool:
    from nzila_ops.models import IncidentEvent

    return IncidentEvent.objects.filter(
        incident__key=key, kind=IncidentEvent.Kind.NOTE, detail__startswith=_receipt(delivery_id)
    ).exists()


def _lock(delivery_id: str) -> None:
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return  # SQLite (the demo) serialises writers on its own
    with connection.cursor() as cursor:
        # Released at the end of the transaction, once the receipt is committed.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [LOCK_PREFIX + delivery_id])


def _json(body: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _read_body(request: HttpRequest, limit: int) -> bytes:
    length = request.META.get("CONTENT_LENGTH") or "0"
    try:
        declared = int(length)
    except ValueError:
        raise Refused(400, "Content-Length is not a number") from None
    if declared > limit:
        raise Refused(413, f"body over {limit} bytes")
    # Read one byte past the limit: a body longer than it declared is refused too.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise Refused(413, f"body over {limit} bytes")
    return body


View = Callable[..., Outcome]


def webhook(vendor: str, methods: tuple[str, ...] = ("POST",)) -> Callable[[View], Any]:
    """Make ``view(request, body, config, **kwargs) -> Outcome`` an endpoint (see the module
    docstring for the order of the checks). ``Refused`` becomes its 4xx."""

    def decorate(view: View) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = _json({"error": "method not allowed", "allowed": list(methods)}, 405)
                response["Allow"] = ", ".join(methods)
                return response
            try:
                config = webhook_config()
                body = _read_body(request, config["MAX_BODY_BYTES"])
                outcome = view(request, body, config, *args, **kwargs)
            except ConfigurationError as exc:
                # The deployment's fault (these settings, or the health checks an UptimeRobot
                # monitor maps to): a 5xx, so the vendor retries once it is fixed.
                logger.error("%s webhook misconfigured: %s", vendor, exc)
                return _json({"error": f"{vendor} webhook misconfigured"}, 503)
            except Refused as refused:
                if refused.status in (401, 403):
                    # Never the signature or token given: only that it was wrong.
                    logger.warning("%s webhook refused: %s", vendor, refused.message)
                return _json({"error": refused.message}, refused.status)
            logger.info("%s webhook: %s", vendor, outcome.result)
            return _json(outcome.as_json())

        return csrf_exempt(endpoint)

    return decorate


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path below /ops/webhooks/: a JSON 404 (an UptimeRobot URL without its token
    included), not Django's HTML page."""
    return _json({"error": "no such webhook"}, 404)
