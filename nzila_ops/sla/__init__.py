"""SLA reports, error-budget burn-rate alerts and the public status page (docs/SLA_TARGETS.md)."""
