"""Prometheus metrics served at /ops/metrics (docs/MONITORING_GUIDE.md)."""
