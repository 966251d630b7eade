"""The stack fixture itself: real servers start on loopback, answer, and stop by PID."""

from __future__ import annotations

from stack import Stack


def test_prometheus_scrapes_a_pushgateway_group(stack: Stack) -> None:
    pushgateway = stack.pushgateway()
    pushgateway.push("fixture_check", "fixture_value 42\n", instance="a")
    prometheus = stack.prometheus(targets=[pushgateway.url.removeprefix("http://")])
    result = prometheus.wait_for('fixture_value{job="fixture_check"}')
    assert float(result[0]["value"][1]) == 42.0
    assert result[0]["metric"]["instance"] == "a"  # honor_labels keeps the pushed grouping labels


def test_alertmanager_accepts_and_lists_an_alert(stack: Stack) -> None:
    alertmanager = stack.alertmanager({"route": {"receiver": "null"}, "receivers": [{"name": "null"}]})
    alertmanager.post_alerts([{"labels": {"alertname": "FixtureCheck", "severity": "info"}}])
    alerts = alertmanager.alerts(alertname="FixtureCheck")
    assert [alert["labels"]["severity"] for alert in alerts] == ["info"]


def test_servers_stop_by_pid(stack: Stack) -> None:
    node_exporter = stack.node_exporter()
    assert node_exporter.alive()
    stack.stop_all()
    assert not node_exporter.alive()
