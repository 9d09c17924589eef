"""UptimeRobot: the API v2 client that provisions monitors (client.py, manage.py
sync_uptimerobot) and the alert webhook (webhook.py)."""
