"""Reading the gunicorn workers' metric files (PROMETHEUS_MULTIPROC_DIR) at each scrape.

prometheus_client's MultiProcessCollector parses the JSON key of every entry of every file at
every scrape: some 40 ms for 50 routes and two workers, most of the 50 ms a scrape may take. The
keys never change (one per label set, a bounded number), so this collector parses each once per
process and keeps it. Counter and histogram files (what nzila_ops and most hosts record) are
merged here exactly as the library does: counters summed over the workers, histogram buckets
summed then made cumulative, ``_count`` the last bucket. Any other kind of file (gauges with
their multiprocess modes, summaries) goes to the library's own merge unchanged.
"""

from __future__ import annotations

import glob
import json
import os
from collections import defaultdict
from collections.abc import Iterator

from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

OURS = ("counter", "histogram")
Labels = tuple[tuple[str, str], ...]
# A key, parsed: (metric name, sample name, sorted label pairs, help, and for a histogram
# bucket its bound and its labels without "le", else None and the labels). Bounded by the label
# sets ever written; cleared past this size so unbounded host labels cannot grow it for ever.
Parsed = tuple[str, str, Labels, str, float | None, Labels]
_KEYS: dict[str, Parsed] = {}
MAX_KEYS = 200_000


def _parse(key: str) -> Parsed:
    parsed = _KEYS.get(key)
    if parsed is None:
        metric_name, name, labels, help_text = json.loads(key)
        pairs = tuple(sorted(labels.items()))
        bound = float(labels["le"]) if "le" in labels else None
        without_le = tuple(pair for pair in pairs if pair[0] != "le")
        if len(_KEYS) >= MAX_KEYS:
            _KEYS.clear()
        parsed = _KEYS[key] = (metric_name, name, pairs, help_text, bound, without_le)
    return parsed


class _Merged:
    def __init__(self, typ: str, help_text: str) -> None:
        self.typ = typ
        self.help = help_text
        self.values: dict[tuple[str, Labels], float] = defaultdict(float)
        # Histograms: labels without "le" -> bound -> count in that bucket (not cumulative).
        self.buckets: dict[Labels, dict[float, float]] = defaultdict(lambda: defaultdict(float))


def merge(files: list[str]) -> list[Metric]:
    """Counters and histograms of these files, summed over the processes that wrote them."""
    merged: dict[str, _Merged] = {}
    for path in files:
        typ = os.path.basename(path).split("_", 1)[0]
        for entry in MmapedDict.read_all_values_from_file(path):
            metric_name, name, labels, help_text, bound, without_le = _parse(entry[0])
            metric = merged.get(metric_name)
            if metric is None:
                metric = merged[metric_name] = _Merged(typ, help_text)
            if bound is None or typ != "histogram":
                metric.values[(name, labels)] += entry[1]
            else:
                metric.buckets[without_le][bound] += entry[1]
    return [_metric(name, metric) for name, metric in merged.items()]


def _metric(metric_name: str, merged: _Merged) -> Metric:
    metric = Metric(metric_name, merged.help, merged.typ)
    for (name, labels), value in merged.values.items():
        metric.add_sample(name, dict(labels), value)  # a counter's, or a histogram's _sum
    for labels, counts in merged.buckets.items():
        total = 0.0
        for bound, count in sorted(counts.items()):
            total += count
            bucket = {**dict(labels), "le": floatToGoString(bound)}
            metric.add_sample(f"{metric_name}_bucket", bucket, total)
        metric.add_sample(f"{metric_name}_count", dict(labels), total)
    return metric


class FilesCollector(Collector):
    """The request-side metrics of every process that wrote to ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterator[Metric]:
        files = glob.glob(os.path.join(self.path, "*.db"))
        ours = [f for f in files if os.path.basename(f).split("_", 1)[0] in OURS]
        others = [f for f in files if f not in set(ours)]
        yield from merge(ours)
        if others:
            yield from MultiProcessCollector.merge(others, accumulate=True)
