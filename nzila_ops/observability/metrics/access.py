"""Who may read /ops/metrics: a bearer token, or an address in METRICS.ALLOWED_IPS.

- Neither TOKEN nor ALLOWED_IPS configured: 404, the endpoint is off.
- ``Authorization: Bearer <TOKEN>`` matching (constant-time): allowed, from any address.
- REMOTE_ADDR inside one of ALLOWED_IPS (addresses or CIDR networks, IPv4 or IPv6): allowed.
- Otherwise: 401 when no bearer token was sent, 403 when one was sent and is not the token.
  The answers are the same whether a token is configured or not.

X-Forwarded-For is never read: behind a proxy that sets REMOTE_ADDR from it, that is the proxy's
business; here a client could write any address into it.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Iterable

from django.http import HttpRequest, HttpResponse

from nzila_ops.conf import get_config
from nzila_ops.http import header_bytes

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> tuple[Network, ...]:
    # Validated by nzila_ops.observability.metrics.config; parsed once per configuration.
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in allowed)


def address_allowed(remote_addr: str, allowed: Iterable[str]) -> bool:
    """Whether ``remote_addr`` lies in one of the ``allowed`` networks (IPv4-mapped IPv6
    addresses count as their IPv4 address)."""
    networks = _networks(tuple(str(a) for a in allowed))
    if not networks or not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr.strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in networks)


def bearer_token(request: HttpRequest) -> bytes | None:
    """The token of an ``Authorization: Bearer <token>`` header, as the client's bytes."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.strip().partition(" ")
    # RFC 7235: the scheme is case-insensitive.
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return header_bytes(token.strip())


def _refuse(status: int, line: str) -> HttpResponse:
    response = HttpResponse(f"{line}\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    response["Cache-Control"] = "no-store"
    return response


def refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the request may read the metrics, else the response that refuses it."""
    section = get_config()["METRICS"]
    token, allowed = section["TOKEN"], section["ALLOWED_IPS"]
    if not token and not allowed:
        return _refuse(404, "not found")
    given = bearer_token(request)
    if token and given is not None and hmac.compare_digest(str(token).encode(), given):
        return None
    if allowed and address_allowed(request.META.get("REMOTE_ADDR", ""), allowed):
        return None
    if given is None:
        return _refuse(401, "metrics: send Authorization: Bearer <token>")
    return _refuse(403, "metrics: token not accepted")
