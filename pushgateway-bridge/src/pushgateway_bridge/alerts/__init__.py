"""Alerts made over the System Service's API: each becomes a Prometheus alerting rule in one rule file."""
