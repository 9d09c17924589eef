"""PagerDuty: paging through the Events API v2 (client, notifier) and provisioning through the
REST API v2 (rest, provisioning; ``manage.py sync_pagerduty``). docs/pagerduty.md."""
