"""Where a restore's memory goes: the peak RSS of its whole process tree, and of each process.

Method (the restore bench's memory figures): the command runs as in ``_measure.run`` (a
grandchild reparented to this subreaper, so ``wait4`` gives its exact largest single process),
and its sampler sums the RSS of the command and every live descendant every ``interval``
seconds, skipping a Python child that has not exec'd yet (see ``_measure``). Here each
process's peak is also kept under a label saying what it is (``restore_database``, ``age
child``, ``pg_restore``, ``pg_restore worker``...), with what each label held at the tree's
peak, so the report says which part to shrink. Pages shared between processes (the libraries,
a forked pg_restore worker's copy of its parent) count once per process, so the sum errs on
the high side; PostgreSQL's own server backends are not descendants and not counted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import _measure

MB = 1024 * 1024


def label(pid: int, root: int) -> str:
    """What process ``pid`` is, in the restore's words."""
    argv = _measure.cmdline(pid)
    if not argv:
        return "gone"
    program = os.path.basename(argv[0])
    if pid == root:
        return "restore_database" if "restore_database" in argv else program
    if program.startswith("python") and "-c" in argv:
        return "age child"
    if program == "perl":
        return "pg_wrapper (perl, execs pg_restore)"  # Debian's /usr/bin/pg_restore
    if program == "pg_restore":
        # -j N: the first pg_restore forks one worker per job, each a pg_restore too.
        parent = _measure.cmdline(_measure.parent_of(pid))
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


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    interval: float = 0.05,
) -> TreeMemory:
    """Run ``argv``; its wall time, output and memory figures."""
    m, sampler = _measure.sampled_run(argv, env=env, cwd=cwd, interval=interval, label=label)
    return TreeMemory(
        wall_seconds=m.wall_seconds,
        returncode=m.returncode,
        stdout=m.stdout,
        stderr=m.stderr,
        max_rss_mb=m.max_rss_mb,
        tree_rss_mb=m.tree_rss_mb,
        by_process_mb={k: round(v / MB, 1) for k, v in sampler.by_label.items() if k != "gone"},
        at_peak_mb={k: round(v / MB, 1) for k, v in sampler.at_peak.items() if k != "gone"},
    )


def describe(memory: TreeMemory) -> str:
    """'restore_database 62.0, age child 14.1, ...' at the tree's peak."""
    parts = sorted(memory.at_peak_mb.items(), key=lambda item: -item[1])
    return ", ".join(f"{name} {mb:.1f}" for name, mb in parts)
