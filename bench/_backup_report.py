"""Table, targets and JSON report of the backup benchmark."""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import Any

from _backup_rows import ROW_LABELS, DbResult, RowResult
from _report import Verdict, fmt, rss_growth_verdict, verdicts_json
from _stages import BACKUP_STAGES, SERIAL_BACKUP_STAGES, median_stages, stage_lines
from _startup_floor import StartupFigures

MB = 1024 * 1024

# Targets for row c (issue 16): against the native pipeline (row d), the practical limit on 2
# cores; bare pg_dump (row a) is not reachable once zstd needs a core of its own.
WALL_VS_NATIVE = 1.10
RSS_LIMIT_MB = 100.0


def print_table(results: list[DbResult]) -> None:
    header = (
        f"{'database':<18} {'row':<26} {'wall s':>8} {'min-max':>13} "
        f"{'maxRSS MB':>10} {'treeRSS MB':>11} {'output MB':>10}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for db in results:
        for key, row in db.rows.items():
            label = f"{key}. {ROW_LABELS[key]}"
            if not row.runs:
                print(f"{db.dbname:<18} {label:<26} {row.error or 'no runs'}")
                continue
            walls = [m.wall_seconds for m in row.runs]
            output = row.median("output_bytes")
            failed = sum(not m.ok for m in row.runs)
            print(
                f"{db.dbname:<18} {label:<26} {fmt(row.median('wall_seconds'), '8.2f')} "
                f"{f'{min(walls):.2f}-{max(walls):.2f}':>13} "
                f"{fmt(row.median('max_rss_mb'), '10.1f')} "
                f"{fmt(row.median('tree_rss_mb'), '11.1f')} "
                f"{fmt(None if output is None else output / MB, '10.1f')}"
                + (f"  ({failed} run(s) failed)" if failed else "")
                + (f"  (then: {row.error})" if row.error else "")
            )


def print_stages(results: list[DbResult]) -> None:
    """Where row c's time goes, stage by stage (medians over its runs)."""
    for db in results:
        row = db.rows.get("c")
        wall = row.median("wall_seconds") if row else None
        if row is None or not row.stage_runs or wall is None:
            continue
        summary = row.summary or {}
        sizes = {"raw": summary.get("raw_size"), "stored": summary.get("stored_size")}
        print(
            f"\n{db.dbname}: where c. ours spends its {wall:.2f} s (median busy seconds per "
            "stage over the runs, share of the wall time, MB/s; dump, compress and encrypt run "
            "beside the other stages, so the shares add up to more than 100 %):"
        )
        stages = median_stages(row.stage_runs)
        # What this process does one after the other; dump, compress and encrypt run beside
        # it (compress and encrypt in this process too when their CLI is missing).
        streaming = sum(stages.get(name, 0.0) for name in SERIAL_BACKUP_STAGES)
        rest = (wall - streaming, "outside the stream: start-up, checks, catalog, manifest")
        for line in stage_lines(BACKUP_STAGES, stages, wall, sizes, rest):
            print(line)


def ratio_verdict(
    target: str, ours: float | None, ref: float | None, limit: float, unit: str = "s"
) -> Verdict:
    """PASS when ours / ref <= limit; values are shown in ``unit`` ("s" or "MB")."""
    if ours is None or ref is None or ref == 0:
        return Verdict(target, False, "no data")
    ratio = ours / ref
    scale = MB if unit == "MB" else 1
    detail = f"{ours / scale:.2f} {unit} / {ref / scale:.2f} {unit} = {ratio:.2f} (<= {limit})"
    return Verdict(target, ratio <= limit, detail)


def startup_figures(db: DbResult) -> StartupFigures | None:
    """Row c beside its start-up floor (row s) and its own duration_seconds, against row d;
    None without medians of both c and d."""
    ours = db.rows.get("c", RowResult("c"))
    native = db.rows.get("d", RowResult("d")).median("wall_seconds")
    ours_wall = ours.median("wall_seconds")
    if native is None or ours_wall is None or native == 0:
        return None
    floor = db.rows["s"].median("wall_seconds") if "s" in db.rows else None
    in_process = statistics.median(ours.in_process_seconds) if ours.in_process_seconds else None
    return StartupFigures(native, ours_wall, floor, in_process, WALL_VS_NATIVE)


def evaluate(results: list[DbResult]) -> list[Verdict]:
    verdicts = []
    for db in results:
        rows = db.rows
        ours = rows.get("c", RowResult("c"))
        native = rows.get("d", RowResult("d"))
        gzip = rows.get("b", RowResult("b"))
        wall = ratio_verdict(
            f"{db.dbname}: ours wall <= {WALL_VS_NATIVE} x native",
            ours.median("wall_seconds"),
            native.median("wall_seconds"),
            WALL_VS_NATIVE,
        )
        figures = startup_figures(db)
        if figures is not None:
            # Not targets: why the verdict is what it is (the start-up is fixed, the rest scales).
            notes = figures.lines("duration_seconds of the JSON summary")
            wall = replace(wall, notes=tuple(notes))
        verdicts.append(wall)
        rss = ours.median("tree_rss_mb")
        verdicts.append(
            Verdict(
                f"{db.dbname}: ours peak RSS <= {RSS_LIMIT_MB:.0f} MB",
                rss is not None and rss <= RSS_LIMIT_MB,
                "no data" if rss is None else f"{rss:.1f} MB (sampled tree sum)",
            )
        )
        if not gzip.runs:
            continue  # row b not run here (bench_large.py leaves it out by default)
        verdicts.append(
            ratio_verdict(
                f"{db.dbname}: ours output <= gzip -9 output",
                ours.median("output_bytes"),
                gzip.median("output_bytes"),
                1.0,
                unit="MB",
            )
        )
    ours_peaks = [
        (db.size_bytes, rss)
        for db in results
        if "c" in db.rows and (rss := db.rows["c"].median("tree_rss_mb")) is not None
    ]
    verdicts.append(
        rss_growth_verdict(
            ours_peaks,
            "ours peak RSS not growing with DB size",
            "needs ours results on two databases",
        )
    )
    return verdicts


def to_json(results: list[DbResult], verdicts: list[Verdict], runs: int) -> dict[str, Any]:
    def row_json(row: RowResult) -> dict[str, Any]:
        return {
            "label": ROW_LABELS[row.key],
            "error": row.error,
            "median": {
                attr: row.median(attr)
                for attr in ("wall_seconds", "max_rss_mb", "tree_rss_mb", "output_bytes")
            },
            "runs": [
                {
                    "wall_seconds": m.wall_seconds,
                    "max_rss_mb": m.max_rss_mb,
                    "tree_rss_mb": m.tree_rss_mb,
                    "output_bytes": m.output_bytes,
                    "returncode": m.returncode,
                }
                for m in row.runs
            ],
            "summary": row.summary,
            "stage_seconds_median": median_stages(row.stage_runs) if row.stage_runs else None,
            "in_process_seconds": row.in_process_seconds,
        }

    def start_up(db: DbResult) -> dict[str, Any] | None:
        figures = startup_figures(db)
        return None if figures is None else figures.as_json()

    return {
        "runs_per_row": runs,
        "databases": [
            {
                "dbname": db.dbname,
                "size_bytes": db.size_bytes,
                "rows": {key: row_json(row) for key, row in db.rows.items()},
                "start_up": start_up(db),
            }
            for db in results
        ],
        "targets": verdicts_json(verdicts),
    }
