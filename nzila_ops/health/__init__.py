"""Health checks for load balancers, UptimeRobot and on-call engineers."""
