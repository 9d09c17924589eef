"""A port for a server a test starts, bound before the server starts.

A port only chosen by the test (bound, closed, its number passed on) can be taken by another
test's server before the child binds it. Bound here and handed over instead (gunicorn's
``--bind fd://N`` with ``pass_fds``), as scripts/demo_serve does, it stays ours throughout.
"""

from __future__ import annotations

import socket


def bound_listener() -> socket.socket:
    """A TCP socket bound to a free port of 127.0.0.1; the caller closes it once the server
    has it. ``gunicorn_bind(sock)`` is the argument that hands it to gunicorn."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    return listener


def gunicorn_bind(listener: socket.socket) -> list[str]:
    """gunicorn's arguments that take ``listener`` over (start it with pass_fds=(fileno,))."""
    return ["--bind", f"fd://{listener.fileno()}"]
