"""What every nzila_ops command shares: one-line errors and the TTY progress display."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from django.core import checks
from django.core.management.base import BaseCommand, CommandError, SystemCheckError

from nzila_ops.exceptions import OpsError
from nzila_ops.formats import human_size
from nzila_ops.progress import Progress

# The system checks every nzila_ops command runs before it starts: the configuration ones,
# where all of nzila_ops' own are (NZILA_OPS, storages, keys: a wrong one exits 2 before any
# work). Not the project's model, URL, template and admin checks: they load the URLconf (~0.1 s
# of start-up, issue 16), protect development rather than the data, and an error in one of
# them must not stop a backup, a restore, a drill or a health check during an incident.
# `manage.py check` runs them all.
CONFIGURATION_CHECKS = [checks.Tags.compatibility]


def action_text(action: str, dry_run: bool) -> str:
    """ "created", or in a dry run "would be created"; "unchanged" either way."""
    return f"would be {action}" if dry_run and action != "unchanged" else action


def format_phases(phase_seconds: dict[str, float]) -> str:
    """ "fetch 1.2 s, restore 9.8 s, ...": the phases of a restore or drill, in order."""
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phase_seconds.items())


def _check_line(message: checks.CheckMessage) -> str:
    where = f"{message.obj}: " if message.obj is not None else ""
    return f"{where}{message.msg} [{message.id}]" if message.id else f"{where}{message.msg}"


def misconfiguration_summary(errors: list[checks.CheckMessage]) -> str:
    """One line naming the first error (and how many more), then the others and the hints,
    one per line: what a command prints when the system checks refuse the configuration."""
    if not errors:  # pragma: no cover  (SystemCheckError is raised only with errors)
        return "misconfigured (run manage.py check)"
    first, *others = errors
    more = f" and {len(others)} more error{'s' if len(others) > 1 else ''}:" if others else ""
    lines = [f"misconfigured (run manage.py check): {_check_line(first)}{more}"]
    for message in errors:
        if message is not first:
            lines.append(f"  {_check_line(message)}")
        if message.hint:
            lines.append(f"    hint: {message.hint}")
    return "\n".join(lines)


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


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, systemd, a container stop) or SIGHUP (the on-call engineer's SSH session
    dropped) in a command: raised where the command is, so it unwinds as Ctrl-C does and every
    cleanup runs (a restore's plaintext dump, scratch databases, partial objects). Python's
    default for both runs none of them."""


UNWINDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def _raise(signum: int, frame: Any) -> None:
        # Only the first one raises: a second SIGTERM must not cut the cleanup it started.
        for number in UNWINDING_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        raise Terminated()

    previous = {number: signal.signal(number, _raise) for number in UNWINDING_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            # None: a handler installed outside Python; the default is the closest we can do.
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


class OpsCommand(BaseCommand):
    """Subclasses implement ``run(**options)``; an OpsError becomes one line and an exit code."""

    requires_system_checks = CONFIGURATION_CHECKS

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with sigterm_unwinds():
                self.run(*args, **options)
        except OpsError as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from None
        except Terminated:
            raise CommandError("terminated", returncode=143) from None
        except KeyboardInterrupt:
            raise CommandError("interrupted", returncode=130) from None

    def run(self, *args: Any, **options: Any) -> None:
        raise NotImplementedError

    def check(
        self,
        app_configs: Any = None,
        tags: Any = None,
        display_num_errors: bool = False,
        include_deployment_checks: bool = False,
        fail_level: int = checks.ERROR,
        databases: Any = None,
    ) -> None:
        """Django's system checks, but a misconfiguration exits 2 (as documented for a wrong
        setting) with a one-line summary first, instead of SystemCheckError's report and 1."""
        try:
            super().check(
                app_configs, tags, display_num_errors, include_deployment_checks, fail_level,
                databases,
            )  # fmt: skip
        except SystemCheckError:
            # Run again for the messages themselves: SystemCheckError holds only its text.
            # This costs a second pass on the failure path only.
            found = checks.run_checks(
                app_configs=app_configs,
                tags=tags,
                include_deployment_checks=include_deployment_checks,
                databases=databases,
            )
            errors = [m for m in found if m.is_serious(fail_level) and not m.is_silenced()]
            raise CommandError(misconfiguration_summary(errors), returncode=2) from None

    def progress_for(self, options: dict[str, Any]) -> Progress:
        stdout = getattr(self.stdout, "_out", sys.stdout)
        if not options.get("json") and hasattr(stdout, "isatty") and stdout.isatty():
            return TerminalProgress(stdout)
        return Progress()
