"""Latency from Prometheus's query API, or "not measured (why)": never a number it did not give.

The error paths talk to a small local HTTP server speaking the API; the figure itself comes
from a real Prometheus holding a histogram backfilled with promtool."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from nzila_ops.sla.latency import latency_figures
from nzila_ops.sla.periods import parse_period
from tests.observability.prometheus_proof_support import prometheus_binary, start, stop, wait_until
from tests.sla.helpers import utc
from tests.support.s3 import free_port

JAN, FEB = utc(2026, 1, 1), utc(2026, 2, 1)


class FakePrometheus:
    """Answers every /api/v1/query with ``status`` and ``body``, after ``delay`` seconds."""

    def __init__(self) -> None:
        self.status, self.body, self.delay = 200, b"", 0.0
        # Answers of their own for queries holding a given text (the earliest-sample query).
        self.special: dict[str, bytes] = {}
        self.queries: list[dict[str, list[str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                fake.queries.append(query)
                time.sleep(fake.delay)
                promql = query.get("query", [""])[0]
                body = next((b for k, b in fake.special.items() if k in promql), fake.body)
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                # The client may have given up waiting, as it should.
                with contextlib.suppress(BrokenPipeError):
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, payload: Any, status: int = 200) -> None:
        self.status = status
        self.body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()


@pytest.fixture
def fake_prometheus(settings: Any) -> Iterator[FakePrometheus]:
    fake = FakePrometheus()
    settings.NZILA_OPS = {
        **settings.NZILA_OPS,
        "SLA": {"PROMETHEUS_URL": fake.url, "PROMETHEUS_TIMEOUT_SECONDS": 0.5},
    }
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def vector(value: str) -> dict[str, Any]:
    result = [{"metric": {}, "value": [0, value]}]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def test_without_a_prometheus_url_nothing_is_measured() -> None:
    figures = latency_figures(JAN, FEB)
    assert [f.text for f in figures] == ["not measured (no PROMETHEUS_URL configured)"] * 2
    assert [f.met for f in figures] == [None, None]


def test_the_figures_are_the_p95_over_the_whole_period(fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.answer(vector("0.375"))
    api, db = latency_figures(JAN, FEB)
    assert (api.seconds, api.text, api.met) == (0.375, "375 ms", True)
    assert (db.seconds, db.met) == (0.375, False)  # the query target is 100 ms
    first = next(q for q in fake_prometheus.queries if "histogram_quantile" in q["query"][0])
    assert first["query"] == [
        "histogram_quantile(0.95, sum by (le) "
        "(increase(nzila_http_request_duration_seconds_bucket[2678400s])))"
    ]
    assert float(first["time"][0]) == FEB.timestamp()


@pytest.mark.parametrize(
    ("status", "payload", "why"),
    [
        (200, {"status": "success", "data": {"resultType": "vector", "result": []}},
         "no samples in the period"),
        (200, vector("NaN"), "no requests observed in the period"),
        (200, b"<html>proxy error</html>", "answered something that is not a query result"),
        (200, {"status": "success", "data": {}}, "answered something that is not a query result"),
        (200, vector("fast"), "answered something that is not a query result"),
        (400, {"status": "error", "error": "parse error"}, "answered HTTP 400"),
        (503, b"", "answered HTTP 503"),
        (200, {"status": "error", "error": "query timed out"}, "query timed out"),
        (200, {"status": "error", "error": "bad\nquery\r\n  here"}, "bad query here"),
    ],
)  # fmt: skip
def test_a_bad_answer_is_not_measured_with_the_reason(
    fake_prometheus: FakePrometheus, status: int, payload: Any, why: str
) -> None:
    fake_prometheus.answer(payload, status)
    api = latency_figures(JAN, FEB)[0]
    assert api.seconds is None
    assert api.text.startswith("not measured (") and why in api.text
    assert "\n" not in api.text


def test_a_slow_prometheus_is_not_waited_for_beyond_the_timeout(
    fake_prometheus: FakePrometheus,
) -> None:
    fake_prometheus.answer(vector("0.2"))
    fake_prometheus.delay = 2.0
    api, db = latency_figures(JAN, FEB)
    assert api.seconds is None and "unreachable" in api.text and "timed out" in api.text
    # The second figure is not waited for again.
    assert db.text == api.text
    assert len(fake_prometheus.queries) == 1


def test_an_unreachable_prometheus_is_named_without_its_credentials(settings: Any) -> None:
    port = free_port()
    settings.NZILA_OPS = {
        **settings.NZILA_OPS, "SLA": {"PROMETHEUS_URL": f"http://ops:s3cret@127.0.0.1:{port}"}
    }  # fmt: skip
    api = latency_figures(JAN, FEB)[0]
    assert api.text.startswith(f"not measured (Prometheus at http://127.0.0.1:{port} unreachable")
    assert "s3cret" not in api.text


def test_the_range_is_the_real_length_of_a_dst_month(fake_prometheus: FakePrometheus) -> None:
    # Europe/London's October 2026 ends on GMT: 31 days and one hour, 2,682,000 s. Its two
    # bounds share one tzinfo, so subtracting them as datetimes gives the wall-clock 2,678,400.
    october = parse_period("2026-10", ZoneInfo("Europe/London"))
    fake_prometheus.answer(vector("0.2"))
    latency_figures(october.start, october.end, now=utc(2026, 12, 1))
    quantiles = [q["query"][0] for q in fake_prometheus.queries if "quantile" in q["query"][0]]
    assert quantiles and all("[2682000s]" in q for q in quantiles)


def test_the_period_is_measured_up_to_the_given_now(fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.answer(vector("0.2"))
    latency_figures(JAN, FEB, now=utc(2026, 1, 11))
    quantiles = [q for q in fake_prometheus.queries if "quantile" in q["query"][0]]
    assert "[864000s]" in quantiles[0]["query"][0]
    assert float(quantiles[0]["time"][0]) == utc(2026, 1, 11).timestamp()


def test_a_period_older_than_prometheus_keeps_is_not_measured(
    fake_prometheus: FakePrometheus,
) -> None:
    # Prometheus's retention dropped the first ten days of January: a p95 of the other 21
    # would pass for the month's.
    fake_prometheus.answer(vector("0.2"))
    fake_prometheus.special["timestamp("] = json.dumps(
        vector(str(utc(2026, 1, 11, 6).timestamp()))
    ).encode()
    api, db = latency_figures(JAN, FEB)
    assert api.seconds is None and db.seconds is None
    assert api.text == "not measured (Prometheus holds data from 2026-01-11 06:00 UTC only)"
    assert not [q for q in fake_prometheus.queries if "quantile" in q["query"][0]]


def test_data_from_the_period_start_on_is_measured(fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.answer(vector("0.2"))
    fake_prometheus.special["timestamp("] = json.dumps(vector(str(JAN.timestamp()))).encode()
    api, _ = latency_figures(JAN, FEB)
    assert api.text == "200 ms"


def _backfill(directory: Path) -> None:
    """A request histogram from 1 January 2026 00:00 to 02:00 UTC: per minute, 50 requests up
    to 100 ms, 40 more up to 250 ms, 10 more up to 500 ms. p95 lies halfway through the
    (0.25, 0.5] bucket: 0.375 s."""
    lines = ["# TYPE nzila_http_request_duration_seconds histogram"]
    start = int(JAN.timestamp())
    for minute in range(121):
        at = start + 60 * minute
        for le, per_minute in (("0.1", 50), ("0.25", 90), ("0.5", 100), ("+Inf", 100)):
            bucket = f'nzila_http_request_duration_seconds_bucket{{le="{le}"}}'
            lines.append(f"{bucket} {per_minute * minute} {at}")
    lines.append("# EOF")
    source = directory / "samples.om"
    source.write_text("\n".join(lines) + "\n")
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source),
         str(directory / "data")],
        check=True, capture_output=True,
    )  # fmt: skip


@pytest.mark.skipif(prometheus_binary() is None, reason="Debian's prometheus is not installed")
def test_a_real_prometheus_gives_the_p95_of_the_period(settings: Any, tmp_path: Path) -> None:
    _backfill(tmp_path)
    (tmp_path / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\n")
    port = free_port()
    log = tmp_path / "prometheus.log"
    process = start(
        [str(prometheus_binary()), f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", "--storage.tsdb.retention.time=100y",
         f"--web.listen-address=127.0.0.1:{port}"],
        log,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        settings.NZILA_OPS = {**settings.NZILA_OPS, "SLA": {"PROMETHEUS_URL": url}}
        from tests.observability.prometheus_proof_support import http_get

        wait_until("prometheus ready", lambda: http_get(f"{url}/-/ready")[0] == 200, 30, log)
        api, db = latency_figures(JAN, FEB)
        assert api.seconds == pytest.approx(0.375), api.text
        assert api.text == "375 ms"
        # No query histogram was recorded: said so, not 0.
        assert db.text == "not measured (no samples in the period)"
        # A period starting before what Prometheus holds is not measured, and says from when.
        api, _ = latency_figures(utc(2025, 12, 31, 12), utc(2026, 1, 1, 2))
        assert api.text == "not measured (Prometheus holds data from 2026-01-01 00:00 UTC only)"
    finally:
        stop(process)
