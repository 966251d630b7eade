"""Render Prometheus rules, Alertmanager config and Grafana dashboards from monitoring.yml."""
