"""moto's S3 server over real HTTP, and a TCP proxy that can cut connections mid-stream."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port}")


@contextmanager
def moto_server_process(**env: str) -> Iterator[str]:
    """A separate moto server process (needed for settings read at its start, like auth)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


class FaultyProxy:
    """Forwards TCP connections to a target port. After ``fail_next()``, the next connection
    to send 256 KiB of request data gets reset in the middle of it (once): a network failing
    mid-upload. With ``fail_next(download_after=N)`` it is the response side, after N bytes: a
    network failing mid-download. Later connections work again, as after a real glitch."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.sockets: list[socket.socket] = []
        self.cut_event = threading.Event()
        self.armed = threading.Event()
        self.cut_upload = True
        self.cut_after = 256 * 1024
        self.cuts_left = 0
        self.resets = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def fail_next(self, download_after: int | None = None, times: int = 1) -> None:
        """Cut the next ``times`` connections (each new one counts its bytes from zero)."""
        self.cut_upload = download_after is None
        self.cut_after = 256 * 1024 if download_after is None else download_after
        self.cuts_left = times
        self.armed.set()

    def _accept(self) -> None:
        while not self.cut_event.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_event.is_set():
                client.close()
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            for a, b, upload in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pipe, args=(a, b, upload), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, upload: bool) -> None:
        sent_while_armed = 0
        try:
            while not self.cut_event.is_set():
                data = source.recv(65536)
                if not data:
                    break
                watched = upload == self.cut_upload and self.armed.is_set()
                if watched:
                    sent_while_armed += len(data)
                # Cut in the middle of a body, after its headers went through.
                if watched and sent_while_armed > self.cut_after:
                    self.cuts_left -= 1
                    if self.cuts_left <= 0:
                        self.armed.clear()
                    self.resets += 1
                    _reset(source)
                    _reset(target)
                    return
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.cut_event.set()
        self.listener.close()
        for sock in self.sockets:
            _reset(sock)


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer sees a TCP reset, not a clean end of stream.

    shutdown() first wakes the proxy's other thread, blocked in recv() on this socket; until
    that returns, close() alone would release nothing and the peer would wait for its timeout."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    except OSError:
        pass
