"""Report pieces the benches print and write the same way: verdicts, JSON, the growth of a ratio."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


MB = 1024 * 1024

#: "Peak RSS not growing with database size": the largest database may use at most this much
#: more memory than the smallest (the larger of the two allowances).
RSS_GROWTH_ABS_MB = 5.0
RSS_GROWTH_REL = 0.10

#: Ours / native may grow by at most this factor from the small database to the large one
#: (issue 16: time grows linearly with size, as the native tools' does).
RATIO_OF_RATIOS_LIMIT = 1.1


@dataclass(frozen=True)
class Verdict:
    target: str
    passed: bool
    detail: str
    #: Informative lines printed under the verdict (not targets of their own): what explains it.
    notes: tuple[str, ...] = ()


def print_verdicts(verdicts: list[Verdict]) -> None:
    print("\ntargets:")
    for v in verdicts:
        print(f"  {'PASS' if v.passed else 'MISS'}  {v.target}: {v.detail}")
        for note in v.notes:
            print(f"        {note}")


def verdicts_json(verdicts: list[Verdict]) -> list[dict[str, Any]]:
    """The ``targets`` entry of a bench's JSON report."""
    return [
        {"target": v.target, "pass": v.passed, "detail": v.detail, "notes": list(v.notes)}
        for v in verdicts
    ]


def ratio_growth_verdict(ratios: list[tuple[int, float]], missing: str) -> Verdict:
    """PASS when ours / native on the largest database is at most RATIO_OF_RATIOS_LIMIT times
    that on the smallest. ``ratios``: (database size in bytes, median ours / median native);
    ``missing`` says what is lacking when there are fewer than two."""
    target = f"ours / native grows at most {RATIO_OF_RATIOS_LIMIT} x from small to large"
    if len(ratios) < 2:
        return Verdict(target, False, missing)
    (_, small), (_, large) = min(ratios), max(ratios)
    detail = f"{large:.3f} / {small:.3f} = {large / small:.3f} (<= {RATIO_OF_RATIOS_LIMIT})"
    return Verdict(target, large / small <= RATIO_OF_RATIOS_LIMIT, detail)


def rss_growth_verdict(peaks: list[tuple[int, float]], target: str, missing: str) -> Verdict:
    """PASS when the peak RSS on the largest database exceeds that on the smallest by at most
    the allowance. ``peaks``: (database size in bytes, peak RSS in MB); ``missing`` says what
    is lacking when there are fewer than two."""
    if len(peaks) < 2:
        return Verdict(target, False, missing)
    (small_size, small), (big_size, big) = min(peaks), max(peaks)
    allowed = max(RSS_GROWTH_ABS_MB, RSS_GROWTH_REL * small)
    detail = (
        f"{small:.1f} MB @ {small_size / MB:.0f} MB DB -> {big:.1f} MB @ "
        f"{big_size / MB:.0f} MB DB (allowed +{allowed:.1f} MB)"
    )
    return Verdict(target, big - small <= allowed, detail)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write a bench's JSON report (``--json-out``) and say where it went."""
    path.write_text(json.dumps(payload, indent=2))
    print(f"\nJSON written to {path}")
