"""Incidents: the lifecycle service, automatic incidents from the app's signals, and the
notifier deliveries of each transition (docs/incidents.md)."""
