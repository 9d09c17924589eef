"""The start-up floor of a command, beside the 1.10 x target: what the backup and restore
benches print under their "ours <= 1.10 x native" verdicts.

A ``manage.py`` command pays a fixed start-up before its first byte (the interpreter, Django's
setup of the host project, our command module), whatever the database's size. The benches
measure it as ``manage.py <command> --help`` with the command's own environment (row s of
``bench_backup.py``, the floor run of ``bench_restore.py``): Django set up, the host project's
apps and the command imported, nothing done. At 500 MB that floor alone is more than the 10 %
the target allows over the native pipeline; at 5 GB it is spread thin. These lines make that
visible without a profiler: the floor against the allowance, ours without the floor, and ours
as a worker already started would spend it (the seconds the command reports for its own work).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class StartupFigures:
    """Medians over one database's runs, in seconds."""

    native: float
    ours: float
    #: ``manage.py <command> --help``; None when it was not run.
    floor: float | None
    #: What the command reports for its own work (a backup's ``duration_seconds``, the sum of a
    #: restore's ``phase_seconds``): a Celery worker, already started, spends this.
    in_process: float | None
    #: The target: ours <= limit x native.
    limit: float

    @property
    def allowance(self) -> float:
        """The seconds the target allows over native."""
        return (self.limit - 1) * self.native

    def as_json(self) -> dict[str, Any]:
        """The figures and the ratios the lines show, for ``--json-out``."""
        floor, in_process = self.floor, self.in_process
        return {
            **asdict(self),
            "allowance_seconds": self.allowance,
            "floor_share_of_native": None if floor is None else floor / self.native,
            "ours_minus_floor_over_native": (
                None if floor is None else (self.ours - floor) / self.native
            ),
            "in_process_over_native": None if in_process is None else in_process / self.native,
        }

    def lines(self, in_process_what: str) -> list[str]:
        """The informative lines; ``in_process_what`` names where the in-process seconds
        come from (e.g. "duration_seconds of the JSON summary")."""
        found = []
        if self.floor is not None:
            share = 100 * self.floor / self.native
            over = " (the floor alone is more)" if self.floor > self.allowance else ""
            found += [
                f"start-up floor s = {self.floor:.2f} s = {share:.1f} % of native; the "
                f"{self.limit:.2f} x target allows {self.allowance:.2f} s over native{over}",
                f"ours minus start-up / native = ({self.ours:.2f} - {self.floor:.2f}) / "
                f"{self.native:.2f} = {(self.ours - self.floor) / self.native:.3f}",
            ]
        if self.in_process is not None:
            found.append(
                f"ours in-process ({in_process_what}: what a Celery worker, already started, "
                f"spends) / native = {self.in_process:.2f} / {self.native:.2f} = "
                f"{self.in_process / self.native:.3f}"
            )
        return found
