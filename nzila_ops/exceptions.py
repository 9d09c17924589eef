"""Errors an operator sees.

Every error raised on purpose by nzila_ops is an ``OpsError`` whose ``str()`` is one line that says
what was wrong and, where possible, what to do next. Commands print that line and exit non-zero;
tasks record it. Messages never contain secrets (passwords, private identities).
"""

from __future__ import annotations

from datetime import UTC, datetime


class OpsError(Exception):
    """Base class: a failure explained in one operator-readable line."""

    #: Exit status a management command uses for this kind of failure.
    exit_code = 1

    def __init__(self, message: str) -> None:
        # One line, always: multi-line tool output is summarised by the caller.
        super().__init__(" ".join(str(message).split()))


def describe(exc: BaseException) -> str:
    """One line for the operator: an OpsError's own message, anything else with its type (a
    bare "timed out" or "[Errno 28]" says too little about where it came from)."""
    if isinstance(exc, OpsError):
        return str(exc)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ConfigurationError(OpsError):
    """The NZILA_OPS setting (or the environment behind it) is wrong or incomplete."""

    exit_code = 2


class InvalidArgument(OpsError):
    """An operator passed a wrong name, type or option."""

    exit_code = 2


class BackupError(OpsError):
    """A backup could not be taken."""


class DumpError(BackupError):
    """The dump engine (pg_dump, sqlite3) failed or cannot run."""


class DatabaseUnreachable(OpsError):
    """A database server cannot be reached or refused the connection."""


class RestoreError(OpsError):
    """A restore (or a drill) could not be completed; the live database is untouched."""


class VerificationFailed(RestoreError):
    """A backup is corrupt, or a restored database does not match its manifest."""


class StorageError(OpsError):
    """The backup storage failed. ``transient`` errors are worth retrying."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class ObjectLocked(StorageError):
    """A delete refused because the object is under an S3 Object Lock retention period: the
    storage keeps it until ``until`` (None when the storage did not say)."""

    def __init__(self, key: str, until: datetime | None) -> None:
        when = (
            f"until {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            if until
            else "(retain-until date unknown)"
        )
        super().__init__(f"{key} is locked {when}: object lock refuses its deletion")
        self.key = key
        self.until = until


class BackupSkipped(OpsError):
    """Another backup of the same database is running; this one did nothing (harmless)."""

    exit_code = 3


class BackupNotFound(OpsError):
    """No backup of that name, or no backups at all."""
