"""Our text writer and multiprocess reader give what prometheus_client's would (less _created)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from nzila_ops.observability.metrics.exposition import render
from nzila_ops.observability.metrics.multiprocess import FilesCollector

REPO = Path(__file__).resolve().parents[2]
CREATED = re.compile(r"^(# (HELP|TYPE) )?[a-zA-Z_:][a-zA-Z0-9_:]*_created[ {]")
label_value = st.text(max_size=20)


def without_created(text: str) -> list[str]:
    return [line for line in text.split("\n") if not CREATED.match(line)]


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(label_value, min_size=1, max_size=5),
    amounts=st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=5),
    help_text=st.text(max_size=30),
)
def test_render_equals_generate_latest_without_created(
    values: list[str], amounts: list[float], help_text: str
) -> None:
    registry = CollectorRegistry()
    counter = Counter("nzila_fuzz_requests", help_text or "h", ["view"], registry=registry)
    histogram = Histogram("nzila_fuzz_seconds", "h", ["view", "status"], registry=registry)
    gauge = Gauge("nzila_fuzz_gauge", "h", registry=registry)
    for value, amount in zip(values, amounts * len(values), strict=False):
        counter.labels(value).inc(amount)
        histogram.labels(value, "200").observe(amount)
        gauge.set(amount)
    assert without_created(render(registry.collect()).decode()) == without_created(
        generate_latest(registry).decode()
    )


def test_a_name_prometheus_2_cannot_read_is_left_to_prometheus_client() -> None:
    family = GaugeMetricFamily("nzila.dotted", "a UTF-8 name", labels=["x"])
    family.add_metric(["1"], 2.0)

    class One:
        def collect(self) -> list[GaugeMetricFamily]:
            return [family]

    registry = CollectorRegistry(auto_describe=False)
    registry.register(One())  # type: ignore[arg-type]
    assert render([family]) == generate_latest(registry)


WRITER = """
import sys
from prometheus_client import Counter, Gauge, Histogram
view = sys.argv[1]
c = Counter("nzila_mp_requests", "requests", ["view", "status"])
h = Histogram("nzila_mp_seconds", "seconds", ["view"], buckets=(0.1, 1, 10))
g = Gauge("nzila_mp_live", "live", multiprocess_mode="livesum")
for status in ("200", "404"):
    c.labels(view, status).inc(int(sys.argv[2]))
for amount in (0.05, 0.5, 5, 50):
    h.labels(view).observe(amount * int(sys.argv[2]))
g.set(3)
"""


def write(directory: Path, view: str, times: int) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", WRITER, view, str(times)], env=env, check=True)


def library(directory: Path) -> list[str]:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return sorted(
        line for line in generate_latest(registry).decode().split("\n") if line[:1] != "#"
    )


def ours(directory: Path) -> list[str]:
    text = render(FilesCollector(str(directory)).collect()).decode()
    return sorted(line for line in text.split("\n") if line[:1] != "#")


def test_the_workers_files_merge_as_prometheus_client_merges_them(tmp_path: Path) -> None:
    for view, times in (('a "quoted" \\ view', 1), ("ünïcode\nline", 2), ("a", 3)):
        write(tmp_path, view, times)
    assert len(list(tmp_path.glob("*.db"))) == 3 * 3  # three processes, three kinds
    assert ours(tmp_path) == library(tmp_path)
    assert 'nzila_mp_requests_total{status="200",view="a"} 3.0' in ours(tmp_path)
    assert 'nzila_mp_seconds_count{view="a"} 4.0' in ours(tmp_path)
    # Read again after more writes: the keys are remembered, the values are not.
    write(tmp_path, "a", 5)
    assert ours(tmp_path) == library(tmp_path)
    assert 'nzila_mp_requests_total{status="200",view="a"} 8.0' in ours(tmp_path)
