"""A redis-server of a test's own on a free port, which the test may stop and start again
(on the same port, empty, as a Redis without persistence comes back after a restart)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.s3 import free_port, wait_for_port


class RedisProcess:
    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_for_port(self.port)

    def stop(self) -> None:
        """Shut the server down (SIGTERM) and wait for it: connections are refused after."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
