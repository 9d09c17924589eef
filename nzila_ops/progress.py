"""One progress interface for long operations, used by commands, tasks and (later) pages."""

from __future__ import annotations


class Progress:
    """Receives progress; the base class ignores it. Subclasses override what they show."""

    def phase(self, name: str) -> None:
        """A new phase started ("dump", "upload", "verify", ...)."""

    def advance(self, done_bytes: int, total_bytes: int | None = None) -> None:
        """Bytes processed so far in the current phase. Called often: keep it cheap."""

    def finish(self) -> None:
        """The operation ended (successfully or not)."""


NULL_PROGRESS = Progress()
