"""The alert API on the real bridge, a real Prometheus scraping a real host-exporter, a real Alertmanager
sending every alert to the bridge's receiver: the seed's curl command (only the host changed) creates its
"High CPU Usage" alert; a PUT with a threshold the host is surely above fires it; Alertmanager's webhook
puts the firing, then the resolution, in the history; DELETE removes the rule; config rules answer 409."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import REPO_ROOT

import exporter_support
from bridge.conftest import ADMIN_KEY, TEAM_KEY, Bridge, BridgeFactory, default_config
from stack import Pushgateway, Stack, free_port, wait_until

ADMIN = {"x-api-key": ADMIN_KEY}
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


def run_seed_curl(bridge: Bridge) -> tuple[int, dict[str, Any]]:
    command = SEED_CURL.replace("http://localhost:8013", bridge.url)
    out = subprocess.run(
        ["bash", "-c", command.replace("curl ", 'curl -s -w "\\n%{http_code}" ', 1)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    body, _, code = out.rpartition("\n")
    return int(code), json.loads(body)


@pytest.fixture
def alert_stack(
    stack: Stack, bridge_factory: BridgeFactory, pushgateway: Pushgateway, tmp_path: Path
) -> Bridge:
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
    exporter = exporter_support.start(stack)
    rule_file = tmp_path / "shared" / "api.rules.yml"
    prometheus = stack.prometheus(
        scrape_configs=[{"job_name": "node", "static_configs": [{"targets": [exporter.split("://", 1)[1]]}]}],
        rule_files=[REPO_ROOT / "rules" / "host.rules.yml", rule_file],
        alertmanager_url=alertmanager.url,
    )
    config = {**default_config(), "anonymous": {"services": ["*"], "rate_per_second": 100}}
    return bridge_factory(
        pushgateway.url,
        config=config,
        port=bridge_port,
        extra_env={
            "BRIDGE_PROMETHEUS_URL": prometheus.url,
            "BRIDGE_ALERT_RULES_FILE": str(rule_file),
            "BRIDGE_ALERT_DEFAULT_FOR": "0s",
        },
    )


def get(bridge: Bridge, path: str, **params: str) -> Any:
    response = requests.get(f"{bridge.url}{path}", headers=ADMIN, params=params, timeout=10)
    response.raise_for_status()
    return response.json()


def put(bridge: Bridge, alert_id: str, body: dict[str, Any]) -> requests.Response:
    return requests.put(f"{bridge.url}/api/alerts/{alert_id}", json=body, headers=ADMIN, timeout=30)


def state_is(bridge: Bridge, alert_id: str, wanted: str) -> bool:
    return bool(get(bridge, f"/api/alerts/{alert_id}")["state"] == wanted)


def history_has(bridge: Bridge, alert_id: str, status: str) -> list[dict[str, Any]]:
    events = get(bridge, f"/api/alerts/{alert_id}/history")["events"]
    return [event for event in events if event["status"] == status]


@pytest.mark.slow
def test_the_seeds_alert_fires_is_recorded_resolves_and_is_deleted(alert_stack: Bridge) -> None:
    bridge = alert_stack
    code, created = run_seed_curl(bridge)
    assert code == 201, created
    alert_id = created["id"]
    assert created["status"] == "applied"
    assert created["metric"] == "host_cpu"
    assert created["inferred"] is True
    assert created["rule"]["alert"] == "HighCpuUsage"
    assert created["rule"]["labels"]["source"] == "api"

    listed = get(bridge, "/api/alerts", source="api")["alerts"]
    assert [(alert["id"], alert["name"]) for alert in listed] == [(alert_id, "HighCpuUsage")]
    assert get(bridge, f"/api/alerts/{alert_id}")["loaded"] is True

    assert put(bridge, alert_id, {"threshold": 101}).status_code == 200  # CPU percent never gets there
    wait_until(lambda: state_is(bridge, alert_id, "inactive"), timeout=WAIT_SECONDS, what="inactive")

    changed = put(bridge, alert_id, {"threshold": -1})  # any CPU use at all is above
    assert changed.status_code == 200, changed.text
    assert changed.json()["rule"]["expr"] == "instance:node_cpu_utilisation:rate5m * 100 > -1.0"
    wait_until(lambda: state_is(bridge, alert_id, "firing"), timeout=WAIT_SECONDS, what="firing")
    fired = wait_until(lambda: history_has(bridge, alert_id, "firing"), timeout=WAIT_SECONDS, what="history")
    assert fired[0]["alertname"] == "HighCpuUsage"
    assert fired[0]["service"] == "data-processing"
    assert fired[0]["labels"]["alert_id"] == alert_id
    assert get(bridge, "/api/alerts/history", alertname="HighCpuUsage")["events"][0]["key"] == fired[0]["key"]

    assert put(bridge, alert_id, {"threshold": 101}).status_code == 200
    resolved = wait_until(lambda: history_has(bridge, alert_id, "resolved"), timeout=WAIT_SECONDS, what="end")
    assert resolved[0]["ends_at"] is not None
    assert resolved[0]["duration_seconds"] >= 0

    gone = requests.delete(f"{bridge.url}/api/alerts/{alert_id}", headers=ADMIN, timeout=30)
    assert gone.status_code == 200, gone.text
    assert get(bridge, "/api/alerts", source="api")["alerts"] == []
    assert requests.get(f"{bridge.url}/api/alerts/{alert_id}", headers=ADMIN, timeout=10).status_code == 404


@pytest.mark.slow
def test_bad_inputs_and_config_rules_are_refused_saying_why(alert_stack: Bridge) -> None:
    bridge = alert_stack
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
