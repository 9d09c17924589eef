"""What every endpoint of nzila_ops (health, webhooks) needs of a raw HTTP request."""

from __future__ import annotations


def header_bytes(value: str) -> bytes:
    """A header's bytes as the client sent them. WSGI and ASGI servers hand headers to Django
    decoded as latin-1 (PEP 3333), which encoding back undoes; text that latin-1 cannot hold
    (not from a server: a test client's) is taken as UTF-8, lone surrogates included."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")
