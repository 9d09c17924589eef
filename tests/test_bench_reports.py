"""The backup and restore benches' reports, from made-up results (bench/, issue 16), and how
their memory sampler counts a process tree.

No timing is asserted: the figures are given, and the tests check what the report makes of
them (which targets pass, the start-up lines under the wall-time verdicts, the JSON).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))  # bench/ is not a package: its scripts import their siblings

import _measure  # noqa: E402
from _backup_report import evaluate, to_json  # noqa: E402
from _backup_rows import DbResult, RowResult  # noqa: E402
from _restore_report import DbRestore, verdicts  # noqa: E402
from _restore_report import to_json as restore_json  # noqa: E402

MB = 1024 * 1024


def measured(wall: float, tree_rss_mb: float = 90.0) -> _measure.Measurement:
    return _measure.Measurement(wall, 60.0, tree_rss_mb, 0, "", "", 30 * MB)


def backup_result(size_mb: int, ours: float, native: float, floor: float | None) -> DbResult:
    rows = {
        "c": RowResult("c", [measured(ours)], in_process_seconds=[ours - 0.6]),
        "d": RowResult("d", [measured(native)]),
    }
    if floor is not None:
        rows["s"] = RowResult("s", [measured(floor)])
    return DbResult(f"db{size_mb}", size_mb * MB, rows)


def test_backup_start_up_lines_explain_the_wall_verdict_without_being_targets() -> None:
    results = [backup_result(500, ours=3.0, native=2.6, floor=0.5)]

    found = evaluate(results)

    wall = found[0]
    assert wall.target == "db500: ours wall <= 1.1 x native"
    assert not wall.passed
    assert wall.notes == (
        "start-up floor s = 0.50 s = 19.2 % of native; the 1.10 x target allows 0.26 s over "
        "native (the floor alone is more)",
        "ours minus start-up / native = (3.00 - 0.50) / 2.60 = 0.962",
        "ours in-process (duration_seconds of the JSON summary: what a Celery worker, already "
        "started, spends) / native = 2.40 / 2.60 = 0.923",
    )
    # Wall, RSS and RSS growth: the start-up adds no PASS/MISS line of its own.
    assert [v.target for v in found] == [
        "db500: ours wall <= 1.1 x native",
        "db500: ours peak RSS <= 100 MB",
        "ours peak RSS not growing with DB size",
    ]


def test_backup_without_row_s_shows_only_the_in_process_line() -> None:
    (wall, *_) = evaluate([backup_result(500, ours=3.0, native=2.6, floor=None)])

    assert len(wall.notes) == 1
    assert wall.notes[0].startswith("ours in-process (duration_seconds")


def test_backup_json_carries_the_start_up_figures() -> None:
    results = [backup_result(500, ours=3.0, native=2.5, floor=0.5)]

    payload = to_json(results, evaluate(results), runs=1)

    start_up = payload["databases"][0]["start_up"]
    assert start_up["floor"] == 0.5
    assert round(start_up["allowance_seconds"], 3) == 0.25
    assert start_up["floor_share_of_native"] == 0.2
    assert start_up["ours_minus_floor_over_native"] == 1.0
    assert round(start_up["in_process_over_native"], 3) == 0.96
    assert payload["databases"][0]["rows"]["c"]["in_process_seconds"] == [2.4]
    assert len(payload["targets"][0]["notes"]) == 3


def test_backup_rss_growth_passes_within_the_allowance() -> None:
    results = [backup_result(500, 3.0, 2.6, None), backup_result(5120, 30.0, 26.0, None)]
    results[1].rows["c"] = RowResult("c", [measured(30.0, tree_rss_mb=98.5)])

    growth = by_target(evaluate(results))["ours peak RSS not growing with DB size"]

    assert growth.passed
    assert growth.detail == ("90.0 MB @ 500 MB DB -> 98.5 MB @ 5120 MB DB (allowed +9.0 MB)")


def test_backup_rss_growth_misses_beyond_the_allowance() -> None:
    results = [backup_result(500, 3.0, 2.6, None), backup_result(5120, 30.0, 26.0, None)]
    results[1].rows["c"] = RowResult("c", [measured(30.0, tree_rss_mb=99.5)])

    growth = by_target(evaluate(results))["ours peak RSS not growing with DB size"]

    assert not growth.passed


def test_backup_rss_growth_needs_two_databases() -> None:
    growth = evaluate([backup_result(500, 3.0, 2.6, None)])[-1]

    assert growth.target == "ours peak RSS not growing with DB size"
    assert (growth.passed, growth.detail) == (False, "needs ours results on two databases")


def restored(size_mb: int, ours: float, native: float, floor: list[float]) -> DbRestore:
    phases = {"fetch": 0.5, "restore": ours - 1.2, "verify": 0.1, "swap": 0.0}
    return DbRestore(
        f"db{size_mb}",
        size_mb * MB,
        baseline=[native],
        ours=[ours],
        phases=[phases],
        tree_rss_mb=[95.0],
        startup_floor=floor,
    )


def by_target(found: list) -> dict:
    return {v.target: v for v in found}


def test_restore_ratio_of_ratios_passes_when_ours_over_native_shrinks_with_size() -> None:
    found = by_target(verdicts([restored(500, 4.4, 4.0, [0.5]), restored(5120, 41.0, 40.0, [])]))

    growth = found["ours / native grows at most 1.1 x from small to large"]
    assert growth.passed
    assert growth.detail == "1.025 / 1.100 = 0.932 (<= 1.1)"


def test_restore_ratio_of_ratios_misses_when_ours_over_native_grows_with_size() -> None:
    found = by_target(verdicts([restored(500, 4.0, 4.0, [0.5]), restored(5120, 48.0, 40.0, [])]))

    growth = found["ours / native grows at most 1.1 x from small to large"]
    assert not growth.passed
    assert growth.detail == "1.200 / 1.000 = 1.200 (<= 1.1)"


def test_restore_ratio_of_ratios_needs_two_databases() -> None:
    found = by_target(verdicts([restored(500, 4.4, 4.0, [0.5])]))

    growth = found["ours / native grows at most 1.1 x from small to large"]
    assert (growth.passed, growth.detail) == (False, "needs restores of two databases")


def test_restore_rss_growth_allows_at_least_5_mb() -> None:
    small, large = restored(500, 4.4, 4.0, []), restored(5120, 41.0, 40.0, [])
    small.tree_rss_mb, large.tree_rss_mb = [40.0], [45.0]

    growth = by_target(verdicts([small, large]))[
        "peak RSS of the tree not growing with database size"
    ]

    assert growth.passed
    assert growth.detail == "40.0 MB @ 500 MB DB -> 45.0 MB @ 5120 MB DB (allowed +5.0 MB)"


def test_restore_rss_growth_misses_beyond_the_allowance() -> None:
    small, large = restored(500, 4.4, 4.0, []), restored(5120, 41.0, 40.0, [])
    large.tree_rss_mb = [104.6]  # small: 95.0, allowed +9.5

    growth = by_target(verdicts([small, large]))[
        "peak RSS of the tree not growing with database size"
    ]

    assert not growth.passed
    assert growth.detail.endswith("(allowed +9.5 MB)")


def test_restore_rss_growth_needs_two_databases() -> None:
    growth = verdicts([restored(500, 4.4, 4.0, [])])[-1]

    assert growth.target == "peak RSS of the tree not growing with database size"
    assert (growth.passed, growth.detail) == (False, "needs restores of two databases")


def test_restore_start_up_lines_use_the_median_floor_and_the_phase_sum() -> None:
    found = verdicts([restored(500, 4.4, 4.0, [0.5, 0.7, 0.6])])

    wall = found[0]
    assert wall.notes == (
        "start-up floor s = 0.60 s = 15.0 % of native; the 1.10 x target allows 0.40 s over "
        "native (the floor alone is more)",
        "ours minus start-up / native = (4.40 - 0.60) / 4.00 = 0.950",
        "ours in-process (the sum of the phase seconds of its JSON: what a Celery worker, "
        "already started, spends) / native = 3.80 / 4.00 = 0.950",
    )


def test_restore_says_when_the_start_up_floor_could_not_be_measured() -> None:
    db = restored(500, 4.4, 4.0, [])
    db.floor_error = "ModuleNotFoundError: nope"

    wall = verdicts([db])[0]

    assert wall.notes[-1] == "start-up floor not measured: ModuleNotFoundError: nope"
    assert not any(note.startswith("start-up floor s =") for note in wall.notes)


def test_restore_json_carries_the_start_up_figures() -> None:
    results = [restored(500, 4.4, 4.0, [0.6])]

    payload = restore_json(results, verdicts(results), runs=1)

    database = payload["databases"][0]
    assert database["startup_floor"] == [0.6]
    assert round(database["in_process"][0], 3) == 3.8
    assert round(database["start_up"]["ours_minus_floor_over_native"], 3) == 0.95
    assert payload["runs_per_row"] == 1


# Forks without exec'ing, then both wait for stdin to close; the parent reaps its fork.
FORK_AND_WAIT = "import os, sys\npid = os.fork()\nsys.stdin.read()\nif pid:\n    os.waitpid(pid, 0)"


def test_the_sampler_skips_a_python_fork_that_has_not_execd() -> None:
    # subprocess's fork between fork and exec shares its parent's pages: counted, a 75 MB
    # process showed up as 150 MB.
    proc = subprocess.Popen([sys.executable, "-c", FORK_AND_WAIT], stdin=subprocess.PIPE)
    try:
        tree: list[int] = []
        while len(tree) < 2:  # until the fork shows up in /proc
            assert proc.poll() is None, "the forking child exited"
            tree = _measure._descendants(proc.pid, _measure._parent_map())
        sampler = _measure._TreeSampler(
            proc.pid, 1.0, label=lambda pid, root: "parent" if pid == root else "fork"
        )
        sampler._sample()

        assert list(_measure.tree_rss(proc.pid)) == [proc.pid]
        assert list(sampler.at_peak) == ["parent"]
        assert sampler.peak_bytes == sampler.at_peak["parent"] > 0
    finally:
        proc.communicate(b"")
