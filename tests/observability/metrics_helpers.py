"""Reading the request-side metrics of this process, as deltas (they are process-global)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from nzila_ops.observability.metrics.instruments import REQUEST_DURATION


def sample(name: str, **labels: str) -> float:
    """The current value of one sample of the default registry (0 before its first use)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def view_labels() -> set[str]:
    """Every ``view`` label the request histogram has a series for."""
    return {s.labels["view"] for family in REQUEST_DURATION.collect() for s in family.samples}


def metrics_settings(settings: object, **section: object) -> None:
    """Set NZILA_OPS["METRICS"] (a new dict, so setting_changed clears the config cache)."""
    ops = dict(settings.NZILA_OPS)  # type: ignore[attr-defined]
    ops["METRICS"] = {"TOKEN": None, "ALLOWED_IPS": [], **section}
    settings.NZILA_OPS = ops  # type: ignore[attr-defined]
