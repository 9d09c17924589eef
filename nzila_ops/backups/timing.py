"""Where a streaming backup or restore spends its time, stage by stage.

Each stage of the pipeline adds the ``time.perf_counter()`` span of its own calls (one per
chunk, never per byte) to a ``StageTimes``. Stages that run at the same time (pg_dump beside
compression; the download and the decryption child beside decompression) each report their own
busy time, so the figures of overlapping stages add up to more than the wall time.
"""

from __future__ import annotations

import os
import subprocess
import time


class StageTimes:
    """Seconds accumulated per named stage; safe to add to from several threads, one stage
    per thread (a dict update of one key is atomic under the GIL)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def since(self, stage: str, started: float) -> None:
        """Add the time from ``started`` (a ``time.perf_counter()`` value) to now."""
        self.add(stage, time.perf_counter() - started)

    def rounded(self) -> dict[str, float]:
        return {stage: round(max(seconds, 0.0), 3) for stage, seconds in self.seconds.items()}


def wait_counting_cpu(process: subprocess.Popen[bytes], times: StageTimes, stage: str) -> int:
    """Wait for the child ``process``, adding its CPU seconds (its own core, beside this
    process) to ``stage``; its exit status.

    wait4, not Popen.wait and a RUSAGE_CHILDREN difference: the CPU time of this child alone,
    whatever other children this process reaps meanwhile."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    times.add(stage, usage.ru_utime + usage.ru_stime)
    return process.returncode
