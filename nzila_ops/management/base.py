"""What every nzila_ops command shares: one-line errors and the TTY progress display."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from nzila_ops.exceptions import OpsError
from nzila_ops.progress import Progress


def human_size(size: float | None) -> str:
    if size is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover


def action_text(action: str, dry_run: bool) -> str:
    """ "created", or in a dry run "would be created"; "unchanged" either way."""
    return f"would be {action}" if dry_run and action != "unchanged" else action


def format_phases(phase_seconds: dict[str, float]) -> str:
    """ "fetch 1.2 s, restore 9.8 s, ...": the phases of a restore or drill, in order."""
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phase_seconds.items())


class TerminalProgress(Progress):
    """A single rewritten line on a terminal: phase, bytes, rate. At most 5 updates a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.name = ""
        self.started = time.monotonic()
        self.last_draw = 0.0

    def phase(self, name: str) -> None:
        self.name = name
        self.started = time.monotonic()
        self._draw(f"{name}...")

    def advance(self, done_bytes: int, total_bytes: int | None = None) -> None:
        now = time.monotonic()
        if now - self.last_draw < 0.2:
            return
        rate = done_bytes / max(now - self.started, 1e-6)
        of_total = f" of {human_size(total_bytes)}" if total_bytes else ""
        self._draw(f"{self.name}: {human_size(done_bytes)}{of_total} ({human_size(rate)}/s)")

    def finish(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()

    def _draw(self, text: str) -> None:
        self.last_draw = time.monotonic()
        self.stream.write(f"\r\033[K{text}")
        self.stream.flush()


class OpsCommand(BaseCommand):
    """Subclasses implement ``run(**options)``; an OpsError becomes one line and an exit code."""

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.run(*args, **options)
        except OpsError as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from None
        except KeyboardInterrupt:
            raise CommandError("interrupted", returncode=130) from None

    def run(self, *args: Any, **options: Any) -> None:
        raise NotImplementedError

    def progress_for(self, options: dict[str, Any]) -> Progress:
        stdout = getattr(self.stdout, "_out", sys.stdout)
        if not options.get("json") and hasattr(stdout, "isatty") and stdout.isatty():
            return TerminalProgress(stdout)
        return Progress()
