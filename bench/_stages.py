"""'Where the time goes': the stage breakdown ``bench_backup.py`` and ``bench_restore.py`` print.

The commands report each stage's busy seconds (``stage_seconds`` in their ``--json`` output,
docs/backups.md). Stages that run at the same time overlap, so they add up to more than the
wall time; the share of the wall time each one took says which is the bottleneck.
"""

from __future__ import annotations

import statistics

MB = 1024 * 1024

#: What each stage is, in the order the data goes through them, and which size it moves
#: ("raw": the uncompressed dump; "stored": the object in storage; None: no byte rate).
BACKUP_STAGES: dict[str, tuple[str, str | None]] = {
    "dump": ("pg_dump into the zstd child (beside the rest)", "raw"),
    "dump_wait": ("waiting for the last child's output (or the dump)", None),
    "compress": ("zstd child process CPU (beside the rest)", "raw"),
    "encrypt": ("age child process CPU (beside the rest)", "stored"),
    "hash": ("SHA-256", "stored"),
    "upload": ("writes to storage + commit", "stored"),
}
#: The backup's stages that this process runs one after the other (tool_chain.py); without the
#: zstd or age CLI, compress or encrypt run in this process too (docs/backups.md).
SERIAL_BACKUP_STAGES = ("dump_wait", "hash", "upload")
RESTORE_STAGES: dict[str, tuple[str, str | None]] = {
    "download": ("reads from storage (beside the rest)", "stored"),
    "hash": ("SHA-256 (beside the rest)", "stored"),
    "decrypt": ("age child process CPU (beside the rest)", "stored"),
    "decompress": ("zstd -d child CPU, writing the dump file (in this process: zstd/gzip)", "raw"),
    "write": ("writing the scratch dump file (only when decompressing in this process)", "raw"),
    "pre_data": ("pg_restore --section=pre-data beside the fetch (wall, until it ended)", None),
    "restore": ("pg_restore / SQLite load", "raw"),
    "verify": ("row counts, sequences", None),
    "swap": ("renames", None),
}


def median_stages(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median of each stage over the runs that reported it."""
    names = [name for run in runs for name in run]
    return {
        name: statistics.median(run[name] for run in runs if name in run)
        for name in dict.fromkeys(names)
    }


def stage_lines(
    known: dict[str, tuple[str, str | None]],
    stages: dict[str, float],
    wall: float,
    sizes: dict[str, int | None],
    rest: tuple[float, str] | None = None,
) -> list[str]:
    """One line per stage, in the data's order: seconds, share of ``wall``, MB/s of the size it
    moves, what it is. ``rest`` (seconds, what) is a last line for the time outside the stages
    (the process starting, Django, the catalog...)."""
    ordered = {name: stages[name] for name in known if name in stages}
    ordered.update(stages)
    if rest is not None:
        ordered["rest"] = max(rest[0], 0.0)
        known = {**known, "rest": (rest[1], None)}
    lines = []
    for name, seconds in ordered.items():
        what, size_key = known.get(name, ("", None))
        size = sizes.get(size_key) if size_key else None
        rate = f"{size / MB / seconds:8.1f} MB/s" if size and seconds > 0 else " " * 13
        share = f"{100 * seconds / wall:5.1f} %" if wall > 0 else "    - "
        lines.append(f"    {name:<11} {seconds:7.2f} s {share} {rate}  {what}")
    return lines
