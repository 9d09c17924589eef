"""Run a command and measure its wall time, peak memory and output size.

Two memory figures are taken, because neither alone answers "how much RAM did it need":

* ``max_rss_mb`` - ``ru_maxrss`` from ``os.wait4`` on the command's process. Linux reports
  the largest peak RSS among that process and every descendant it waited for, i.e. the
  biggest *single* process of the tree (exact, catches short spikes), not the sum of
  processes that ran at the same time (``pg_dump | gzip`` counts as max(pg_dump, gzip, bash)).
* ``tree_rss_mb`` - the peak of the *sum* of RSS over the command and all its live
  descendants, sampled from ``/proc`` every ``sample_interval`` seconds. It adds up
  concurrently running processes (a Python process streaming from a pg_dump child), but can
  miss spikes shorter than the interval. Shared pages are counted once per process, so it
  errs on the high side. It is floored at ``max_rss_mb``: a tree is never smaller than its
  largest process. A Python child that has not exec'd yet (``subprocess`` between its fork
  and exec: the same command line as its parent) shares its parent's pages and is skipped:
  counted, it showed a 75 MB restore as 150 MB in a sample that fell into that instant, and
  backups start their zstd and age children from Python too.

Why the command is not simply our child: at ``exec`` Linux folds the *old* address space's
peak RSS into the new program's ``ru_maxrss``, and a child forked (or vforked) from this
Python process starts with our address space, so even ``sh -c true`` would report our own
peak (40+ MB here, 200+ MB if we had ever been that big). Instead we become a child
subreaper and let a tiny ``sh`` fork the command and exit: the command inherits only sh's
~1.5 MB, is reparented to us, and ``wait4`` on it is exact to within that.

Neither figure includes the PostgreSQL server backend that serves pg_dump: it is not our
descendant.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    wall_seconds: float
    max_rss_mb: float
    tree_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    output_bytes: int | None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _ppid(pid: int | str) -> int | None:
    """The parent's pid; None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None  # exited
    # Field 2 (comm) may contain spaces and parentheses; ppid is 2nd field after the last ')'.
    return int(stat[stat.rindex(b")") + 2 :].split()[1])


def parent_of(pid: int) -> int:
    """The parent's pid; 0 when the process is gone."""
    return _ppid(pid) or 0


def _parent_map() -> dict[int, int]:
    """pid -> ppid for every process visible in /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (ppid := _ppid(entry)) is not None:
            parents[int(entry)] = ppid
    return parents


def _descendants(root: int, parents: dict[int, int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [root], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0  # gone, or a zombie with no memory


def cmdline(pid: int) -> list[str]:
    """The process's argv; [] when it is gone (or a zombie)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [part.decode(errors="replace") for part in f.read().split(b"\0") if part]
    except OSError:
        return []


def _unexeced_fork(pid: int, parent: int) -> bool:
    """A Python process's fork that has not exec'd yet: it shares its parent's pages."""
    argv = cmdline(pid)
    return bool(argv) and os.path.basename(argv[0]).startswith("python") and argv == cmdline(parent)


def tree_rss(root: int) -> dict[int, int]:
    """RSS in bytes of ``root`` and each live descendant, but an un-exec'd Python fork's."""
    parents = _parent_map()
    return {
        pid: _rss_bytes(pid)
        for pid in _descendants(root, parents)
        if pid == root or not _unexeced_fork(pid, parents.get(pid, 0))
    }


#: What a process is (``pid``, ``root``) -> its label, for per-label peaks.
Labeller = Callable[[int, int], str]


class _TreeSampler(threading.Thread):
    """Background thread recording the peak summed RSS of a process tree and, with a
    ``label`` function, each label's peak (the highest of its processes) and what each label
    held (summed) at the tree's peak."""

    def __init__(self, root: int, interval: float, label: Labeller | None = None) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.label = label
        self.peak_bytes = 0
        self.by_label: dict[str, int] = {}
        self.at_peak: dict[str, int] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self._sample()
            self._stop_event.wait(self.interval)

    def _sample(self) -> None:
        sizes = tree_rss(self.root)
        now: dict[str, int] = {}
        if self.label is not None:
            for pid, rss in sizes.items():
                # Labelled at every sample: a process can exec (perl -> pg_restore) between two.
                name = self.label(pid, self.root)
                now[name] = now.get(name, 0) + rss
                self.by_label[name] = max(self.by_label.get(name, 0), rss)
        total = sum(sizes.values())
        if total > self.peak_bytes:
            self.peak_bytes, self.at_peak = total, now

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


_PR_SET_CHILD_SUBREAPER = 36  # from <linux/prctl.h>
_subreaper_enabled = False


def _become_subreaper() -> None:
    """Make orphaned descendants reparent to this process, so we can wait4() on them."""
    global _subreaper_enabled
    if _subreaper_enabled:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    _subreaper_enabled = True


def _spawn_detached(
    argv: Sequence[str],
    stdout: IO[bytes],
    stderr: IO[bytes],
    env: Mapping[str, str] | None,
    cwd: str | Path | None,
) -> int:
    """Start ``argv`` as a grandchild via a throw-away ``sh``; return its pid.

    The launcher gets its own session (so the whole tree can be signalled as one process
    group), backgrounds the command, reports its pid on a pipe and exits.
    """
    _become_subreaper()
    read_end, write_end = os.pipe()
    script = f'"$@" {write_end}>&- & echo $! >&{write_end}'
    try:
        launcher = subprocess.Popen(
            ["sh", "-c", script, "sh", *argv],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=cwd,
            pass_fds=(write_end,),
            start_new_session=True,
        )
    finally:
        os.close(write_end)  # the launcher has its own copy; ours would block the read below
    try:
        pid_text = os.read(read_end, 64)
    finally:
        os.close(read_end)
    if launcher.wait() != 0 or not pid_text.strip():
        raise OSError(f"could not start {argv[0]!r}")
    return int(pid_text)


def _wait(pid: int) -> tuple[int, Any]:
    """wait4() for ``pid`` -> (status, rusage); on Ctrl-C, terminate its process group."""
    try:
        _, status, rusage = os.wait4(pid, 0)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(pid), signal.SIGTERM)
        os.wait4(pid, 0)
        raise
    return status, rusage


def run(
    command: str | Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    output: Path | None = None,
    sample_interval: float = 0.1,
) -> Measurement:
    """Run ``command`` (a shell string, run by bash with pipefail, or an argv list).

    ``output`` is a file the command writes; its size is reported if it exists afterwards.
    stdout/stderr go to temporary files rather than pipes so that a chatty command can never
    block on a full pipe while we sit in ``wait4``.
    """
    measurement, _ = sampled_run(command, env=env, cwd=cwd, output=output, interval=sample_interval)
    return measurement


def sampled_run(
    command: str | Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    output: Path | None = None,
    interval: float = 0.1,
    label: Labeller | None = None,
) -> tuple[Measurement, _TreeSampler]:
    """``run``, and the sampler (with ``label``: its per-label peaks)."""
    argv = ["bash", "-o", "pipefail", "-c", command] if isinstance(command, str) else command
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        pid = _spawn_detached(list(argv), out, err, env, cwd)
        sampler = _TreeSampler(pid, interval, label)
        sampler.start()
        status, rusage = _wait(pid)
        wall = time.perf_counter() - start
        sampler.stop()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    max_rss_mb = rusage.ru_maxrss / 1024  # Linux reports KiB
    measurement = Measurement(
        wall_seconds=wall,
        max_rss_mb=max_rss_mb,
        tree_rss_mb=max(sampler.peak_bytes / MB, max_rss_mb),
        returncode=os.waitstatus_to_exitcode(status),
        stdout=stdout,
        stderr=stderr,
        output_bytes=output.stat().st_size if output is not None and output.exists() else None,
    )
    return measurement, sampler


def dir_size(path: Path) -> int:
    """Total size of the regular files under ``path`` (e.g. a file:// backup store)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
