"""Climate System Monitor API: the seed's Python client as written; state in Prometheus, alerts in AM."""

from __future__ import annotations

from typing import Any

import requests

from bridge.conftest import ADMIN_KEY, TEAM_KEY, BridgeFactory
from seed_clients.python import climate_client
from stack import Alertmanager, Pushgateway, Stack, wait_until

# The seed's client is untyped; calls go through Any.
SystemMonitorClient: Any = climate_client.SystemMonitorClient


def test_seed_python_client_reaches_prometheus_and_alertmanager(
    stack: Stack, pushgateway: Pushgateway, alertmanager: Alertmanager, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(pushgateway.url, alertmanager_url=alertmanager.url)
    prometheus = stack.prometheus(targets=[pushgateway.url.split("://")[1]])
    monitor = SystemMonitorClient(
        base_url=bridge.url + "/", service_name="example-service", api_key=ADMIN_KEY
    )

    answer = monitor.update_status("up", "http://example-service:8000")
    assert answer["name"] == "example-service"
    assert answer["status"] == "up"
    assert answer["endpoint"] == "http://example-service:8000"
    monitor.send_metrics()  # the seed ignores these responses; the state below proves them
    pipeline = monitor.update_pipeline("data_ingestion", "running", {"step": "data_download", "progress": 45})
    assert pipeline["status"] == "running"
    assert pipeline["progress"] == 0.45
    alert = monitor.send_alert("Metrics Collection Failed", "disk full", severity=2)
    assert alert["severity"] == "warning"
    assert alert["id"]

    prometheus.wait_for('service_status{service="example-service",status="up"} == 1')
    info = prometheus.query('service_info{service="example-service"}')
    assert info[0]["metric"]["endpoint"] == "http://example-service:8000"
    for metric_type in ("cpu", "memory", "disk"):
        prometheus.wait_for(
            f'service_reported_value{{service="example-service",metric_type="{metric_type}"}}'
        )
    assert prometheus.value('service_alerts_total{service="example-service",severity="warning"}') == 1
    assert prometheus.value('pipeline_progress_ratio{pipeline_type="data_ingestion"}') == 0.45
    assert prometheus.value('pipeline_status{pipeline_type="data_ingestion",status="running"}') == 1
    assert prometheus.value('pipeline_step_info{pipeline_type="data_ingestion",step="data_download"}') == 1

    alerts = wait_until(lambda: alertmanager.alerts(alertname="ServiceAlert"), what="ServiceAlert")
    assert alerts[0]["labels"] == {
        "alertname": "ServiceAlert",
        "service": "example-service",
        "severity": "warning",
        "source": "bridge",
    }
    assert alerts[0]["annotations"] == {"summary": "Metrics Collection Failed", "description": "disk full"}

    # The pipeline completes: status one-hot moves, the run is counted, progress is 1.
    monitor.update_pipeline("data_ingestion", "completed")
    prometheus.wait_for('pipeline_runs_total{pipeline_type="data_ingestion",outcome="success"} == 1')
    assert prometheus.value('pipeline_status{pipeline_type="data_ingestion",status="running"}') == 0
    assert prometheus.value('pipeline_progress_ratio{pipeline_type="data_ingestion"}') == 1


def test_metrics_path_with_and_without_slash(pushgateway: Pushgateway, bridge_factory: BridgeFactory) -> None:
    bridge = bridge_factory(pushgateway.url)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    body = {"service": "svc", "metric_type": "cpu", "value": 12.5}
    for path in ("/metrics/", "/metrics"):
        response = requests.post(bridge.url + path, json=body, headers=headers, timeout=5)
        assert response.status_code == 200, response.text
        assert response.json()["value"] == 12.5
    for path in ("/metrics", "/metrics/"):
        response = requests.get(bridge.url + path, timeout=5)
        assert response.status_code == 200
        assert "bridge_http_requests_total" in response.text
    assert bridge.own_metric("bridge_http_requests_total", handler="/metrics/", code="200") == 2
    assert bridge.own_metric("bridge_events_accepted_total", source="metric") == 2


def test_climate_errors_name_the_problem(pushgateway: Pushgateway, bridge_factory: BridgeFactory) -> None:
    bridge = bridge_factory(pushgateway.url)
    url = bridge.url
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}

    def post(path: str, body: object, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.post(url + path, json=body, headers=auth if headers is None else headers, timeout=5)

    response = post("/services/", {"name": "x", "status": "sideways"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "status"]
    assert "'up', 'down' or 'unknown'" in response.json()["detail"][0]["msg"]

    response = post("/metrics/", {"service": "x", "metric_type": "gpu", "value": 1})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "metric_type"]

    for value in ("lots", "12.5", True):  # a JSON number, not a string or a boolean that converts to one
        response = post("/metrics/", {"service": "x", "metric_type": "cpu", "value": value})
        assert response.status_code == 422, value
        assert response.json()["detail"][0]["loc"] == ["body", "value"]
        assert response.json()["detail"][0]["msg"] == "Input should be a valid number"

    response = post(
        "/pipelines/", {"pipeline_type": "training", "status": "running", "metadata": {"progress": 140}}
    )
    assert response.status_code == 422
    assert "metadata.progress" in response.json()["detail"][0]["msg"]

    for severity in (7, True, "2", "WARNING"):  # 1, 2, 3 as numbers, or the lower-case names
        response = post("/alerts/", {"title": "t", "message": "m", "severity": severity, "service": "x"})
        assert response.status_code == 422, severity
        assert response.json()["detail"][0]["loc"] == ["body", "severity"]
    assert (
        post("/alerts/", {"title": "t", "message": "m", "severity": "critical", "service": "x"}).status_code
        == 201
    )

    response = post("/services/", {"name": "x", "status": "up"}, headers={})
    assert response.status_code == 401
    assert "missing API key" in response.json()["detail"]
    response = post("/services/", {"name": "x", "status": "up"}, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json()["detail"] == "unknown API key"
    response = post(
        "/services/", {"name": "x", "status": "up"}, headers={"Authorization": f"Bearer {TEAM_KEY}"}
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "key 'team-a' may not write service 'x'"
    ok = post(
        "/services/", {"name": "team-a-api", "status": "up"}, headers={"Authorization": f"Bearer {TEAM_KEY}"}
    )
    assert ok.status_code == 200

    response = requests.post(
        url + "/services/",
        data="name=x",
        headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    response = requests.post(
        url + "/services/", data="{not json", headers={**auth, "Content-Type": "application/json"}, timeout=5
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
    response = post("/services/", {"name": "x" * 2_000_000, "status": "up"})
    assert response.status_code == 413
    assert "max_body_bytes" in response.json()["detail"]
    assert bridge.own_metric("bridge_rejected_total", reason="body_too_large") == 1
    assert bridge.own_metric("bridge_rejected_total", reason="forbidden") == 1


def test_a_lone_surrogate_in_a_body_is_a_422_not_a_500(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory
) -> None:
    """JSON can escape half a UTF-16 pair; the 422 that repeats it must still be writable."""
    bridge = bridge_factory(pushgateway.url)
    answer = requests.post(
        f"{bridge.url}/services/",
        data=b'{"name": "a\\ud800"}',  # no status: the 422 repeats the whole body
        headers={**bridge.headers(), "Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][0] == "body"
