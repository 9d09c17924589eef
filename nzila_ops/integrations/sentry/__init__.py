"""Sentry: the internal integration's alert webhooks (webhook.py)."""
