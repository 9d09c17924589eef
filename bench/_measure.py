"""Run a command and measure its wall time, peak memory and output size.

Two memory figures are taken, because neither alone answers "how much RAM did it need":

* ``max_rss_mb`` - ``ru_maxrss`` from ``os.wait4`` on the direct child. Linux reports the
  largest peak RSS among that child and every descendant it waited for, i.e. the biggest
  *single* process of the tree (exact, catches short spikes), not the sum of processes that
  ran at the same time (``pg_dump | gzip`` counts as max(pg_dump, gzip, shell)).
* ``tree_rss_mb`` - the peak of the *sum* of RSS over the child and all its live descendants,
  sampled from ``/proc`` every ``sample_interval`` seconds. It adds up concurrently running
  processes (a Python process streaming from a pg_dump child), but can miss spikes shorter
  than the interval. Shared pages are counted once per process, so it errs on the high side.
  It is floored at ``max_rss_mb``, since a tree is never smaller than its largest process.

Neither includes the PostgreSQL server backend that serves pg_dump: it is not our descendant.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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


def _parent_map() -> dict[int, int]:
    """pid -> ppid for every process visible in /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # exited between listdir and open
        # Field 2 (comm) may contain spaces and parentheses; ppid is 2nd field after the last ')'.
        fields = stat[stat.rindex(b")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
    return parents


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in _parent_map().items():
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


class _TreeSampler(threading.Thread):
    """Background thread recording the peak summed RSS of a process tree."""

    def __init__(self, root: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak_bytes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            total = sum(_rss_bytes(pid) for pid in _descendants(self.root))
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


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
    argv = ["bash", "-o", "pipefail", "-c", command] if isinstance(command, str) else command
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, env=env, cwd=cwd)
        sampler = _TreeSampler(proc.pid, sample_interval)
        sampler.start()
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)  # we reaped it, not Popen
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    # Linux reports ru_maxrss in KiB.
    max_rss_mb = rusage.ru_maxrss / 1024
    return Measurement(
        wall_seconds=wall,
        max_rss_mb=max_rss_mb,
        tree_rss_mb=max(sampler.peak_bytes / MB, max_rss_mb),
        returncode=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        output_bytes=output.stat().st_size if output is not None and output.exists() else None,
    )


def dir_size(path: Path) -> int:
    """Total size of the regular files under ``path`` (e.g. a file:// backup store)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
