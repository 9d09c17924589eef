"""The private directory where a run keeps its temporary files, and the sweep of what killed
runs left there.

Some temporary files hold the whole database in plain text (the decrypted dump a restore
fetches, a SQLite snapshot before it is encrypted) or a password (the pgpass file handed to
pg_dump). They are written only under ``SCRATCH_DIR`` (default: ``<system temp>/nzila-ops-<uid>``),
a directory of mode 0700 owned by this user, each run in a subdirectory of its own, files 0600.

A run holds an exclusive ``flock`` on a lock file inside its subdirectory for as long as it
lives. The kernel drops the lock when the process dies however it dies (kill -9, OOM), so the
next run can tell a live run's files from a dead one's without a timeout: it removes every
subdirectory whose lock it can take. Normal exits (success, an error, Ctrl-C, SIGTERM in a
command) remove their own subdirectory in a ``finally``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError

logger = logging.getLogger("nzila_ops.backups")

RUN_PREFIX = "nzila-run-"
NURSERY_PREFIX = ".nzila-run-new-"
NURSERY_SECONDS = 60
LOCK_NAME = ".lock"


def private_file_opener(path: str, flags: int) -> int:
    """``open(..., opener=private_file_opener)``: create the file with mode 0600."""
    return os.open(path, flags, 0o600)


def base_directory() -> Path:
    """SCRATCH_DIR, created if needed; the default one is checked to be private to this user."""
    configured = get_config()["SCRATCH_DIR"]
    if configured:
        base = Path(configured).expanduser()
        try:
            base.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"SCRATCH_DIR {base} cannot be created: {exc.strerror or exc}"
            ) from None
        return base
    base = Path(tempfile.gettempdir()) / f"nzila-ops-{os.geteuid()}"
    with suppress(FileExistsError):
        base.mkdir(mode=0o700)
    # In a shared temp directory someone else could have made this name first (or a link):
    # plaintext must never go into a directory another user can read.
    info = base.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise ConfigurationError(
            f"{base} is not a directory owned by this user: remove it or set "
            "NZILA_OPS['SCRATCH_DIR'] to a private directory"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        base.chmod(0o700)
    return base


@contextmanager
def work_directory(purpose: str) -> Iterator[Path]:
    """A fresh private subdirectory for one run (``purpose`` names it: restore, sqlite, pg),
    removed when the block ends. Sweeps what dead runs left first."""
    base = base_directory()
    for left in sweep_abandoned(base):
        logger.warning("removed %s, left by a run that died", left)
    # Born under a name the sweep passes over, locked, then renamed: a sweep can never see a
    # run's directory before its lock is held (the lock belongs to the inode, not the name).
    nursery = Path(tempfile.mkdtemp(prefix=NURSERY_PREFIX, dir=base))  # mode 0700
    lock_fd = os.open(nursery / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    path = base / f"{RUN_PREFIX}{purpose}-{nursery.name[len(NURSERY_PREFIX) :]}"
    try:
        nursery.rename(path)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(nursery, ignore_errors=True)
        os.close(lock_fd)


def sweep_abandoned(base: Path | None = None) -> list[Path]:
    """Remove the subdirectories of runs that are no longer alive. Returns what was removed."""
    base = base or base_directory()
    removed = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return []
    for entry in entries:
        if entry.is_symlink() or not entry.is_dir():
            continue
        if entry.name.startswith(RUN_PREFIX):
            dead = _lock_is_free(entry)
        elif entry.name.startswith(NURSERY_PREFIX):
            dead = _older_than(entry, NURSERY_SECONDS)  # killed between mkdtemp and rename
        else:
            continue
        if dead:
            shutil.rmtree(entry, ignore_errors=True)
            if not entry.exists():
                removed.append(entry)
    return removed


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def _lock_is_free(directory: Path) -> bool:
    try:
        fd = os.open(directory / LOCK_NAME, os.O_RDWR)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its run holds the lock: alive
    finally:
        os.close(fd)
    return True
