"""Arithmetic on sets of half-open time intervals [start, end), as epoch seconds.

A set is a list of (start, end) pairs, sorted, non-empty and non-overlapping (what ``merge``
returns). Every function is linear in its inputs (``clip`` is logarithmic), so a year of flips
costs the same whatever its resolution: there are no per-minute loops anywhere in the SLA code.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable

Interval = tuple[float, float]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of any intervals, as a set (sorted, touching ones joined, empty ones dropped)."""
    merged: list[Interval] = []
    for start, end in sorted(iv for iv in intervals if iv[1] > iv[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """What of ``a`` is not in ``b``."""
    out: list[Interval] = []
    j = 0
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        cursor, k = start, j
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cursor:
                out.append((cursor, b[k][0]))
            cursor = max(cursor, b[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(a: list[Interval], lo: float, hi: float) -> list[Interval]:
    """``a`` ∩ [lo, hi), found by bisection: a day of a year-long set costs log n."""
    first = bisect_right(a, lo, key=lambda iv: iv[1])
    last = bisect_left(a, hi, key=lambda iv: iv[0])
    out = a[first:last]
    if out:
        out[0] = (max(out[0][0], lo), out[0][1])
        out[-1] = (out[-1][0], min(out[-1][1], hi))
    return [iv for iv in out if iv[1] > iv[0]]


def total(a: Iterable[Interval]) -> float:
    return sum(end - start for start, end in a)
