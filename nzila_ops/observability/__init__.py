"""Observability: Sentry set-up, Prometheus metrics, the Grafana dashboard.

This package is imported from a host's settings module (``init_sentry``) before Django is
configured: it must import nothing that needs settings or the app registry.
"""

from __future__ import annotations

from nzila_ops.observability.sentry import init_sentry

__all__ = ["init_sentry"]
