"""The alert API on the real bridge, a real Prometheus scraping a real host-exporter, a real Alertmanager
sending every alert to the bridge's receiver: the seed's curl command (only the host changed) creates its
"High CPU Usage" alert, inactive; a PUT with a threshold the host is surely above fires it; Alertmanager's
webhook puts the firing, then the resolution, in the history; DELETE removes the rule; config rules
answer 409.

The exporter reads a procfs whose /proc/stat advances as a host busy at exactly 50 % (`SteadyCpu`), so
"below 90 %" and "above 10 %" hold whatever else the machine running the tests is doing. `rate()` divides
by its whole window, so the committed rules' 5-minute CPU average reads near 100 % until five minutes of
samples exist: the test's Prometheus loads the same host rules with a 15-second window instead."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import REPO_ROOT
from grafana.dashboard_queries import queries

import exporter_support
from bridge.conftest import ADMIN_KEY, TEAM_KEY, Bridge, BridgeFactory, default_config, sha
from bridge.read_support import run_curl
from stack import Prometheus, Pushgateway, Stack, free_port, wait_until

ADMIN = {"x-api-key": ADMIN_KEY}
READER_KEY = "team-a-reader-key"  # reads, and writes, team-a's services only
READER = {"name": "team-a-reader", "sha256": sha(READER_KEY), "services": ["team-a-*"], "read": True}
SEED_CURL = """curl -X POST http://localhost:8013/api/alerts \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "High CPU Usage",
    "description": "CPU usage above 90%",
    "severity": "warning",
    "service": "data-processing",
    "threshold": 90
  }'"""
WAIT_SECONDS = 60.0  # a few evaluation intervals (1s), Alertmanager's group_wait/interval (1s), slack
CPU_UTILISATION = 0.5  # what the exporter's procfs says the host uses


@dataclass
class AlertStack:
    bridge: Bridge
    prometheus: Prometheus


@pytest.fixture
def alert_stack(
    stack: Stack, bridge_factory: BridgeFactory, pushgateway: Pushgateway, tmp_path: Path
) -> Iterator[AlertStack]:
    bridge_port = free_port()
    receiver = f"http://127.0.0.1:{bridge_port}/api/alertmanager/webhook"
    alertmanager = stack.alertmanager(
        {
            "route": {
                "receiver": "bridge",
                "group_by": ["..."],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "bridge",
                    "webhook_configs": [
                        {
                            "url": receiver,
                            "send_resolved": True,
                            "http_config": {"authorization": {"type": "Bearer", "credentials": ADMIN_KEY}},
                        }
                    ],
                }
            ],
        }
    )
    steady = exporter_support.SteadyCpu(tmp_path, CPU_UTILISATION)
    exporter = exporter_support.start(stack, f"--path.procfs={steady.procfs}")
    rule_file = tmp_path / "shared" / "api.rules.yml"
    host_rules = tmp_path / "rules" / "host.rules.yml"
    host_rules.parent.mkdir()
    host_rules.write_text((REPO_ROOT / "rules" / "host.rules.yml").read_text().replace("[5m]", "[15s]"))
    prometheus = stack.prometheus(
        scrape_configs=[{"job_name": "node", "static_configs": [{"targets": [exporter.split("://", 1)[1]]}]}],
        rule_files=[host_rules, rule_file],
        alertmanager_url=alertmanager.url,
    )
    config = default_config()
    config["api_keys"].append(READER)
    config["anonymous"] = {"services": ["*"], "read": True, "rate_per_second": 100}
    bridge = bridge_factory(
        pushgateway.url,
        config=config,
        port=bridge_port,
        extra_env={
            "BRIDGE_PROMETHEUS_URL": prometheus.url,
            "BRIDGE_ALERT_RULES_FILE": str(rule_file),
            "BRIDGE_ALERT_DEFAULT_FOR": "0s",
        },
    )
    yield AlertStack(bridge, prometheus)
    steady.stop()


def get(bridge: Bridge, path: str, **params: str) -> Any:
    response = requests.get(f"{bridge.url}{path}", headers=ADMIN, params=params, timeout=10)
    response.raise_for_status()
    return response.json()


def put(bridge: Bridge, alert_id: str, body: dict[str, Any]) -> requests.Response:
    return requests.put(f"{bridge.url}/api/alerts/{alert_id}", json=body, headers=ADMIN, timeout=30)


def state_is(bridge: Bridge, alert_id: str, wanted: str) -> bool:
    return bool(get(bridge, f"/api/alerts/{alert_id}")["state"] == wanted)


def evaluated_since(prometheus: Prometheus, alert_id: str, since: datetime) -> bool:
    """Prometheus evaluated the API alert's rule after `since` (its lastEvaluation, RFC 3339)."""
    groups = requests.get(f"{prometheus.url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    for rule in (rule for group in groups for rule in group["rules"]):
        if rule.get("labels", {}).get("alert_id") == alert_id:
            return datetime.fromisoformat(rule["lastEvaluation"]) > since
    return False


def dashboard_rows(prometheus: Prometheus, panel: str) -> list[dict[str, str]]:
    """The label sets a panel of the "Alerts and events" dashboard shows, its variables on "All"."""
    (query,) = [
        q for q in queries("prometheus") if (q.dashboard, q.where) == ("alerts-and-events.json", panel)
    ]
    return [sample["metric"] for sample in prometheus.query(query.substituted)]


def history_has(bridge: Bridge, alert_id: str, status: str) -> list[dict[str, Any]]:
    events = get(bridge, f"/api/alerts/{alert_id}/history")["events"]
    return [event for event in events if event["status"] == status]


@pytest.mark.slow
def test_the_seeds_alert_fires_is_recorded_resolves_and_is_deleted(alert_stack: AlertStack) -> None:
    bridge, prometheus = alert_stack.bridge, alert_stack.prometheus
    prometheus.wait_for(
        "instance:node_cpu_utilisation:rate5m",
        lambda result: len(result) == 1 and abs(float(result[0]["value"][1]) - CPU_UTILISATION) < 0.05,
        timeout=WAIT_SECONDS,
    )
    before = datetime.now(UTC)
    code, created = run_curl(SEED_CURL, bridge)
    assert code == 201, created
    alert_id = created["id"]
    assert created["status"] == "applied"
    assert created["metric"] == "host_cpu"
    assert created["inferred"] is True
    assert created["rule"]["alert"] == "HighCpuUsage"
    assert created["rule"]["expr"] == "instance:node_cpu_utilisation:rate5m * 100 > 90.0"
    assert created["rule"]["labels"]["source"] == "api"

    listed = get(bridge, "/api/alerts", source="api")["alerts"]
    assert [(alert["id"], alert["name"]) for alert in listed] == [(alert_id, "HighCpuUsage")]
    wait_until(lambda: evaluated_since(prometheus, alert_id, before), timeout=WAIT_SECONDS, what="evaluated")
    seen = get(bridge, f"/api/alerts/{alert_id}")
    assert (seen["loaded"], seen["state"], seen["alerts"]) == (True, "inactive", [])  # 50 % < 90 %

    changed = put(bridge, alert_id, {"threshold": 10})  # the host is surely above 10 %
    assert changed.status_code == 200, changed.text
    assert changed.json()["rule"]["expr"] == "instance:node_cpu_utilisation:rate5m * 100 > 10.0"
    wait_until(lambda: state_is(bridge, alert_id, "firing"), timeout=WAIT_SECONDS, what="firing")
    fired = wait_until(lambda: history_has(bridge, alert_id, "firing"), timeout=WAIT_SECONDS, what="history")
    assert fired[0]["alertname"] == "HighCpuUsage"
    assert fired[0]["service"] == "data-processing"
    assert fired[0]["labels"]["alert_id"] == alert_id
    assert get(bridge, "/api/alerts/history", alertname="HighCpuUsage")["events"][0]["key"] == fired[0]["key"]
    shown = dashboard_rows(prometheus, "Firing alerts")
    assert [row for row in shown if row.get("alert_id") == alert_id] == [
        {
            "__name__": "ALERTS",
            "alertname": "HighCpuUsage",
            "alertstate": "firing",
            "alert_id": alert_id,
            "source": "api",
            "severity": "warning",
            "service": "data-processing",
            "instance": fired[0]["labels"]["instance"],
            "job": "node",
        }
    ]
    assert {row["severity"] for row in dashboard_rows(prometheus, "Firing alerts by severity")} == {"warning"}

    assert put(bridge, alert_id, {"threshold": 90}).status_code == 200
    resolved = wait_until(lambda: history_has(bridge, alert_id, "resolved"), timeout=WAIT_SECONDS, what="end")
    assert resolved[0]["ends_at"] is not None
    assert resolved[0]["duration_seconds"] >= 0
    assert state_is(bridge, alert_id, "inactive")

    gone = requests.delete(f"{bridge.url}/api/alerts/{alert_id}", headers=ADMIN, timeout=30)
    assert gone.status_code == 200, gone.text
    assert get(bridge, "/api/alerts", source="api")["alerts"] == []
    assert requests.get(f"{bridge.url}/api/alerts/{alert_id}", headers=ADMIN, timeout=10).status_code == 404
    groups = requests.get(f"{prometheus.url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    assert all("alert_id" not in rule.get("labels", {}) for group in groups for rule in group["rules"])


@pytest.mark.slow
def test_bad_inputs_and_config_rules_are_refused_saying_why(alert_stack: AlertStack) -> None:
    bridge = alert_stack.bridge
    url = f"{bridge.url}/api/alerts"
    vague = requests.post(url, json={"name": "Odd", "threshold": 1}, headers=ADMIN, timeout=30)
    assert vague.status_code == 422
    assert "host_cpu" in vague.text and "service_network" in vague.text

    broken = requests.post(url, json={"name": "Broken", "expr": "rate(up[5m]"}, headers=ADMIN, timeout=30)
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["loc"] == ["body", "expr"]
    assert "unclosed left parenthesis" in broken.json()["detail"][0]["msg"]

    team = {"x-api-key": TEAM_KEY}
    refused = requests.post(
        url, json={"name": "High CPU", "threshold": 1, "service": "other"}, headers=team, timeout=30
    )
    assert refused.status_code == 403

    config_rules = get(bridge, "/api/alerts", source="config")["alerts"]
    assert config_rules, "the host rules of rules/host.rules.yml are loaded"
    assert {rule["source"] for rule in config_rules} == {"config"}
    assert get(bridge, "/api/alerts", severity="no-such-severity")["alerts"] == []
    warnings = get(bridge, "/api/alerts", severity="warning")["alerts"]
    assert warnings and {rule["labels"]["severity"] for rule in warnings} == {"warning"}
    bad_state = requests.get(url, params={"state": "asleep"}, headers=ADMIN, timeout=10)
    assert bad_state.status_code == 422
    config_id = config_rules[0]["id"]
    conflict = put(bridge, config_id, {"threshold": 1})
    assert conflict.status_code == 409
    assert "host.rules.yml" in conflict.json()["detail"]
    assert "monitoring.yml" in conflict.json()["detail"]


@pytest.mark.slow
def test_reading_needs_read_and_shows_only_the_keys_services(alert_stack: AlertStack) -> None:
    bridge = alert_stack.bridge
    url = f"{bridge.url}/api/alerts"
    reader = {"x-api-key": READER_KEY}
    theirs = requests.post(
        url, json={"name": "Team CPU", "threshold": 95, "service": "team-a-etl"}, headers=reader, timeout=30
    )
    assert theirs.status_code == 201, theirs.text
    other = requests.post(
        url, json={"name": "Other CPU", "threshold": 95, "service": "billing"}, headers=ADMIN, timeout=30
    )
    assert other.status_code == 201, other.text

    no_read = requests.get(url, headers={"x-api-key": TEAM_KEY}, timeout=10)
    assert no_read.status_code == 403
    assert "read" in no_read.json()["detail"]
    seen = requests.get(url, headers=reader, timeout=10).json()["alerts"]
    assert [alert["id"] for alert in seen] == [theirs.json()["id"]]  # no billing, no host (service-less) rule
    assert requests.get(f"{url}/{other.json()['id']}", headers=reader, timeout=10).status_code == 404
    assert requests.get(f"{url}/{other.json()['id']}/history", headers=reader, timeout=10).status_code == 404
    assert {alert["id"] for alert in get(bridge, "/api/alerts", source="api")["alerts"]} == {
        theirs.json()["id"],
        other.json()["id"],
    }


@pytest.mark.slow
def test_a_put_with_expr_replaces_the_metric_and_one_with_metric_replaces_the_expr(
    alert_stack: AlertStack,
) -> None:
    bridge = alert_stack.bridge
    created = requests.post(
        f"{bridge.url}/api/alerts",
        json={"name": "High CPU", "threshold": 95, "service": "x"},
        headers=ADMIN,
        timeout=30,
    )
    alert_id = created.json()["id"]
    to_expr = put(bridge, alert_id, {"expr": "up == 0"})
    assert to_expr.status_code == 200, to_expr.text
    assert (to_expr.json()["metric"], to_expr.json()["rule"]["expr"]) == (None, "(up == 0) > 95.0")
    to_metric = put(bridge, alert_id, {"metric": "host_memory", "threshold": 80})
    assert to_metric.status_code == 200, to_metric.text
    assert to_metric.json()["metric"] == "host_memory"
    assert (
        "node_memory" in to_metric.json()["rule"]["expr"]
        and "up == 0" not in to_metric.json()["rule"]["expr"]
    )


def test_without_prometheus_reads_answer_503_naming_it_and_creates_are_kept_pending(
    bridge_factory: BridgeFactory, pushgateway: Pushgateway
) -> None:
    bridge = bridge_factory(pushgateway.url)
    listed = requests.get(f"{bridge.url}/api/alerts", headers=ADMIN, timeout=10)
    assert listed.status_code == 503
    assert "prometheus_url" in listed.json()["detail"]
    assert listed.headers["Retry-After"] == "10"
    body = {"name": "Disk almost full", "threshold": 90, "service": "data-processing"}
    created = requests.post(f"{bridge.url}/api/alerts", json=body, headers=ADMIN, timeout=30)
    assert created.status_code == 201, created.text
    assert (created.json()["status"], created.json()["metric"]) == ("pending", "host_disk")
    one = requests.get(f"{bridge.url}/api/alerts/{created.json()['id']}", headers=ADMIN, timeout=10).json()
    assert (one["loaded"], one["state"], one["request"]) == (False, None, body)
