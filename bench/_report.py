"""Report pieces ``bench_backup.py`` and ``bench_health.py`` print and write the same way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


@dataclass(frozen=True)
class Verdict:
    target: str
    passed: bool
    detail: str


def print_verdicts(verdicts: list[Verdict]) -> None:
    print("\ntargets:")
    for v in verdicts:
        print(f"  {'PASS' if v.passed else 'MISS'}  {v.target}: {v.detail}")


def verdicts_json(verdicts: list[Verdict]) -> list[dict[str, Any]]:
    """The ``targets`` entry of a bench's JSON report."""
    return [{"target": v.target, "pass": v.passed, "detail": v.detail} for v in verdicts]


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write a bench's JSON report (``--json-out``) and say where it went."""
    path.write_text(json.dumps(payload, indent=2))
    print(f"\nJSON written to {path}")
