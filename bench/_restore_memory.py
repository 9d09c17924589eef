"""Where a restore's memory goes: the peak RSS of its whole process tree, and of each process.

Method (the restore bench's memory figures): the command runs as in ``_measure.run`` (a
grandchild reparented to this subreaper, so ``wait4`` gives its exact largest single process),
and a thread samples ``/proc`` every ``interval`` seconds: the command and every live
descendant (``/proc/<pid>/stat`` ppid links), each one's RSS from ``/proc/<pid>/statm``. The
tree's peak is the highest *sum* of one sample; each process's peak is kept under a label
saying what it is (``restore_database``, ``age child``, ``pg_restore``, ``pg_restore
worker``...), so the report says which part to shrink. A Python child that has not exec'd yet
(``subprocess`` between its vfork and exec: the same command line as its parent) shares its
parent's memory and is skipped; ``_measure.run``'s sum counted it a second time, which is how
a 75 MB process showed up as 150 MB in a sample that fell into that instant. Pages shared
between processes (the libraries, a forked pg_restore worker's copy of its parent) count once
per process, so the sum errs on the high side; PostgreSQL's own server backends are not
descendants and not counted.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import _measure

MB = 1024 * 1024


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [part.decode(errors="replace") for part in f.read().split(b"\0") if part]
    except OSError:
        return []


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2 :].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def label(pid: int, root: int) -> str | None:
    """What process ``pid`` is, in the restore's words; None for a Python fork that has not
    exec'd yet (it shares its parent's pages: counting it would count the parent twice)."""
    argv = _cmdline(pid)
    if not argv:
        return "gone"
    program = os.path.basename(argv[0])
    if pid == root:
        return "restore_database" if "restore_database" in argv else program
    parent = _cmdline(_parent(pid))
    if argv == parent and program.startswith("python"):
        return None  # subprocess's vfork, between fork and exec
    if program.startswith("python") and "-c" in argv:
        return "age child"
    if program == "perl":
        return "pg_wrapper (perl, execs pg_restore)"  # Debian's /usr/bin/pg_restore
    if program == "pg_restore":
        # -j N: the first pg_restore forks one worker per job, each a pg_restore too.
        same = bool(parent) and os.path.basename(parent[0]) == "pg_restore"
        return "pg_restore worker" if same else "pg_restore"
    return program


@dataclass
class TreeMemory:
    wall_seconds: float = 0.0
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    #: ru_maxrss of the command: its largest single process (exact).
    max_rss_mb: float = 0.0
    #: The peak of the sampled sum over the tree (floored at max_rss_mb).
    tree_rss_mb: float = 0.0
    #: Each label's peak RSS (for several processes with one label: the highest of them).
    by_process_mb: dict[str, float] = field(default_factory=dict)
    #: What each label held at the moment of the tree's peak (summed over its processes).
    at_peak_mb: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class _Sampler(threading.Thread):
    def __init__(self, root: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak = 0
        self.by_process: dict[str, int] = {}
        self.at_peak: dict[str, int] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            total, now = 0, {}
            for pid in _measure._descendants(self.root):
                # Labelled at every sample: a process can exec (perl -> pg_restore, a fork ->
                # the age child) between two.
                name = label(pid, self.root)
                if name is None:
                    continue
                rss = _measure._rss_bytes(pid)
                total += rss
                now[name] = now.get(name, 0) + rss
                self.by_process[name] = max(self.by_process.get(name, 0), rss)
            if total > self.peak:
                self.peak, self.at_peak = total, now
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    interval: float = 0.05,
) -> TreeMemory:
    """Run ``argv``; its wall time, output and memory figures."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        pid = _measure._spawn_detached(list(argv), out, err, env, cwd)
        sampler = _Sampler(pid, interval)
        sampler.start()
        status, rusage = _measure._wait(pid)
        wall = time.perf_counter() - start
        sampler.stop()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    max_rss = rusage.ru_maxrss / 1024
    return TreeMemory(
        wall_seconds=wall,
        returncode=os.waitstatus_to_exitcode(status),
        stdout=stdout,
        stderr=stderr,
        max_rss_mb=max_rss,
        tree_rss_mb=max(sampler.peak / MB, max_rss),
        by_process_mb={k: round(v / MB, 1) for k, v in sampler.by_process.items() if k != "gone"},
        at_peak_mb={k: round(v / MB, 1) for k, v in sampler.at_peak.items() if k != "gone"},
    )


def describe(memory: TreeMemory) -> str:
    """'restore_database 62.0, age child 14.1, ...' at the tree's peak."""
    parts = sorted(memory.at_peak_mb.items(), key=lambda item: -item[1])
    return ", ".join(f"{name} {mb:.1f}" for name, mb in parts)
