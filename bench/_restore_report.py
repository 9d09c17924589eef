"""What the restore benchmark records per database, its targets, summary and JSON report."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from _backup_report import RSS_LIMIT_MB
from _report import Verdict, ratio_growth_verdict, rss_growth_verdict, verdicts_json
from _stages import RESTORE_STAGES, median_stages, stage_lines
from _startup_floor import StartupFigures

TARGET_RATIO = 1.10
MB = 1024 * 1024


@dataclass
class DbRestore:
    """Every run on one database."""

    dbname: str
    size_bytes: int
    raw_bytes: int = 0
    stored_bytes: int = 0
    baseline: list[float] = field(default_factory=list)
    baseline_fetch: list[float] = field(default_factory=list)
    baseline_restore: list[float] = field(default_factory=list)
    ours: list[float] = field(default_factory=list)
    phases: list[dict[str, float]] = field(default_factory=list)
    stage_runs: list[dict[str, float]] = field(default_factory=list)
    tree_rss_mb: list[float] = field(default_factory=list)
    max_rss_mb: list[float] = field(default_factory=list)
    #: Per run: each process's share of the tree at its peak (``_restore_memory``).
    at_peak_mb: list[dict[str, float]] = field(default_factory=list)
    by_process_mb: list[dict[str, float]] = field(default_factory=list)
    #: Per run: ``restore_database --help`` with ours' environment, the start-up floor.
    startup_floor: list[float] = field(default_factory=list)
    floor_error: str = ""
    error: str = ""

    @property
    def peak_rss_mb(self) -> float | None:
        return max(self.tree_rss_mb) if self.tree_rss_mb else None

    @property
    def in_process(self) -> list[float]:
        """Per run: the sum of the phase seconds (fetch, restore, verify, swap), the restore
        without the process starting."""
        return [sum(run.values()) for run in self.phases]


def startup_figures(db: DbRestore) -> StartupFigures | None:
    """Ours beside its start-up floor and its phases, against native; None without runs."""
    if not db.ours or not db.baseline:
        return None
    native = statistics.median(db.baseline)
    if native == 0:
        return None
    floor = statistics.median(db.startup_floor) if db.startup_floor else None
    in_process = statistics.median(db.in_process) if db.phases else None
    return StartupFigures(native, statistics.median(db.ours), floor, in_process, TARGET_RATIO)


def verdicts(results: list[DbRestore]) -> list[Verdict]:
    found: list[Verdict] = []
    ratios: list[tuple[int, float]] = []
    for db in results:
        figures = startup_figures(db)
        if figures is None:
            found.append(Verdict(f"{db.dbname}: restore_database", False, db.error or "no runs"))
            continue
        a, b = figures.native, figures.ours
        ratios.append((db.size_bytes, b / a))
        notes = figures.lines("the sum of the phase seconds of its JSON")
        if db.floor_error:
            notes.append(f"start-up floor not measured: {db.floor_error}")
        found.append(
            Verdict(
                f"{db.dbname}: restore_database <= {TARGET_RATIO} x the native restore",
                b / a <= TARGET_RATIO,
                f"{b:.2f} s / {a:.2f} s = {b / a:.2f}",
                tuple(notes),
            )
        )
        peak = db.peak_rss_mb
        found.append(
            Verdict(
                f"{db.dbname}: peak RSS of restore_database's process tree <= "
                f"{RSS_LIMIT_MB:.0f} MB",
                peak is not None and peak <= RSS_LIMIT_MB,
                f"{peak:.1f} MB (highest of {len(db.tree_rss_mb)} run(s), sampled tree sum)",
            )
        )
    found.append(ratio_growth_verdict(ratios, "needs restores of two databases"))
    peaks = [(db.size_bytes, peak) for db in results if (peak := db.peak_rss_mb) is not None]
    found.append(
        rss_growth_verdict(
            peaks,
            "peak RSS of the tree not growing with database size",
            "needs restores of two databases",
        )
    )
    return found


def print_summary(db: DbRestore) -> None:
    if not db.ours:
        print(f"\n{db.dbname}: restore_database failed: {db.error}")
        return
    phase_medians = {k: statistics.median(p[k] for p in db.phases) for k in db.phases[0]}
    native, wall = statistics.median(db.baseline), statistics.median(db.ours)
    fetch, restore = statistics.median(db.baseline_fetch), statistics.median(db.baseline_restore)
    print(
        f"\n{db.dbname} ({db.size_bytes / MB:.0f} MB): native {native:.2f} s (age|zstd "
        f"{fetch:.2f} s = {db.stored_bytes / MB / fetch:.1f} MB/s stored, pg_restore -j2 "
        f"{restore:.2f} s = {db.raw_bytes / MB / restore:.1f} MB/s raw) | restore_database "
        f"{wall:.2f} s = {wall / native:.2f} x"
    )
    print("  phases (median): " + ", ".join(f"{k} {v:.2f} s" for k, v in phase_medians.items()))
    print(
        f"  where restore_database spends its {wall:.2f} s (median busy seconds per stage, "
        "share of the wall time, MB/s; download, hash and decrypt run beside decompress and "
        "write, so the shares add up to more than 100 %):"
    )
    sizes: dict[str, int | None] = {"raw": db.raw_bytes, "stored": db.stored_bytes}
    phases = sum(phase_medians.values())
    rest = (wall - phases, "outside the phases: start-up, checks, history, catalog rebuild")
    for line in stage_lines(RESTORE_STAGES, median_stages(db.stage_runs), wall, sizes, rest):
        print(line)
    worst = db.tree_rss_mb.index(max(db.tree_rss_mb))
    held = ", ".join(
        f"{name} {mb:.1f}" for name, mb in sorted(db.at_peak_mb[worst].items(), key=lambda i: -i[1])
    )
    print(
        f"  peak RSS of restore_database's process tree: {db.peak_rss_mb:.1f} MB "
        f"(runs: {', '.join(f'{v:.1f}' for v in db.tree_rss_mb)}); at that peak: {held} MB; "
        f"largest single process {max(db.max_rss_mb):.1f} MB"
    )


def to_json(results: list[DbRestore], found: list[Verdict], runs: int) -> dict[str, Any]:
    def database(db: DbRestore) -> dict[str, Any]:
        figures = startup_figures(db)
        return {
            **asdict(db),
            "in_process": db.in_process,
            "start_up": None if figures is None else figures.as_json(),
        }

    return {
        "runs_per_row": runs,
        "databases": [database(db) for db in results],
        "targets": verdicts_json(found),
    }
