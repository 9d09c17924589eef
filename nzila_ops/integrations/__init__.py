"""Thin clients of outside services, one room each (uptimerobot/, pagerduty/, ...)."""
