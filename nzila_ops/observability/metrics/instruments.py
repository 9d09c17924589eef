"""The request-side Prometheus instruments: recorded in the serving process, per request, query
and cache call (docs/metrics.md).

They live in prometheus_client's default REGISTRY. Under gunicorn with PROMETHEUS_MULTIPROC_DIR
set *before* prometheus_client is first imported, each worker writes them to its own files in
that directory, and /ops/metrics sums the workers' files.

Labels are bounded by construction: a route, never a raw path; a method from a fixed set; a
Django alias.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUERY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

REQUEST_DURATION = Histogram(
    "nzila_http_request_duration_seconds",
    "Time from the request entering MetricsMiddleware to its response, by route.",
    ["view", "method", "status"],
    buckets=REQUEST_BUCKETS,
)
REQUESTS = Counter(
    "nzila_http_requests",  # exported as nzila_http_requests_total
    "HTTP requests answered, by method and status.",
    ["method", "status"],
)
DB_QUERY_DURATION = Histogram(
    "nzila_db_query_duration_seconds",
    "Time of one database query (cursor execute/executemany), by Django database alias.",
    ["database"],
    buckets=QUERY_BUCKETS,
)
CACHE_HITS = Counter(
    "nzila_cache_hits",  # exported as nzila_cache_hits_total
    "Cache reads that found the key, by Django cache alias (instrumented backends only).",
    ["cache"],
)
CACHE_MISSES = Counter(
    "nzila_cache_misses",  # exported as nzila_cache_misses_total
    "Cache reads that did not find the key, by Django cache alias (instrumented backends only).",
    ["cache"],
)

ALL = (REQUEST_DURATION, REQUESTS, DB_QUERY_DURATION, CACHE_HITS, CACHE_MISSES)
