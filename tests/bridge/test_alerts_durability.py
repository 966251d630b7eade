"""API alerts survive what happens around them: created while Prometheus is down, Prometheus restarted,
the bridge restarted, the rule file lost or edited by hand, clients changing alerts at once. The file and
Prometheus always end holding what the bridge stored; the history is the bridge's own and survives it."""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

import requests
import yaml

from bridge.conftest import ADMIN_KEY, Bridge, BridgeFactory
from bridge.test_alertmanager_webhook import WEBHOOK
from stack import Prometheus, Pushgateway, Stack, free_port, start_server, wait_until

ADMIN = {"x-api-key": ADMIN_KEY}
SEED_BODY = {
    "name": "High CPU Usage",
    "description": "CPU usage above 90%",
    "severity": "warning",
    "service": "data-processing",
    "threshold": 90,
}


def env(prometheus_url: str, rule_file: Path) -> dict[str, str]:
    return {
        "BRIDGE_PROMETHEUS_URL": prometheus_url,
        "BRIDGE_ALERT_RULES_FILE": str(rule_file),
        "BRIDGE_RESTORE_CHECK_INTERVAL_SECONDS": "0.5",
    }


def loaded(prometheus: Prometheus) -> dict[str, str]:
    """alert_id -> the expr Prometheus evaluates, for every API rule it holds."""
    groups = requests.get(f"{prometheus.url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    return {
        rule["labels"]["alert_id"]: rule["query"]
        for group in groups
        for rule in group["rules"]
        if "alert_id" in rule["labels"]
    }


def threshold(expr: str) -> float:
    return float(expr.rsplit(" ", 1)[1])


def file_rules(rule_file: Path) -> dict[str, str]:
    document: Any = yaml.safe_load(rule_file.read_text()) if rule_file.exists() else None
    groups = (document or {}).get("groups") or [{"rules": []}]
    return {rule["labels"]["alert_id"]: rule["expr"] for rule in groups[0]["rules"] or []}


def test_created_while_prometheus_is_down_then_restarted_with_a_lost_file_it_is_applied(
    stack: Stack, bridge_factory: BridgeFactory, pushgateway: Pushgateway, tmp_path: Path
) -> None:
    rule_file = tmp_path / "api.rules.yml"
    data_dir = tmp_path / "bridge-data"
    down = bridge_factory(
        pushgateway.url, data_dir=data_dir, extra_env=env(f"http://127.0.0.1:{free_port()}", rule_file)
    )
    created = requests.post(f"{down.url}/api/alerts", json=SEED_BODY, headers=ADMIN, timeout=30)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending"
    alert_id = created.json()["id"]
    down.process.stop()
    rule_file.unlink()  # lost while the bridge was down

    prometheus = stack.prometheus(rule_files=[rule_file])
    assert loaded(prometheus) == {}
    bridge = bridge_factory(pushgateway.url, data_dir=data_dir, extra_env=env(prometheus.url, rule_file))
    wait_until(lambda: alert_id in loaded(prometheus), timeout=30, what="the stored alert loaded")
    assert requests.get(f"{bridge.url}/api/alerts/{alert_id}", headers=ADMIN, timeout=10).json()["loaded"]

    rule_file.write_text("groups: []\n")  # edited by hand
    wait_until(lambda: alert_id in file_rules(rule_file), timeout=30, what="the file rewritten")
    wait_until(lambda: alert_id in loaded(prometheus), timeout=30, what="reloaded")


def restart(stack: Stack, prometheus: Prometheus) -> None:
    """Stop Prometheus and start it again on its port, config and data (a restart, not a new server)."""
    prometheus.process.stop()
    server = start_server(
        "prometheus", prometheus.process.argv, prometheus.url, log_dir=prometheus.config_path.parent
    )
    prometheus.process = stack.track(server)


def firing_of(alert_id: str) -> dict[str, Any]:
    """What Alertmanager's webhook sends the bridge when the API alert fires."""
    body = copy.deepcopy(WEBHOOK)
    labels = {
        "alertname": "HighCpuUsage",
        "alert_id": alert_id,
        "source": "api",
        "severity": "warning",
        "service": "data-processing",
    }
    body["groupLabels"], body["commonLabels"] = {"alertname": "HighCpuUsage"}, labels
    body["alerts"][0]["labels"] = labels
    return body


def test_alerts_and_history_survive_a_prometheus_restart_and_a_bridge_restart(
    stack: Stack, bridge_factory: BridgeFactory, pushgateway: Pushgateway, tmp_path: Path
) -> None:
    rule_file = tmp_path / "api.rules.yml"
    data_dir = tmp_path / "bridge-data"
    prometheus = stack.prometheus(rule_files=[rule_file])
    bridge = bridge_factory(pushgateway.url, data_dir=data_dir, extra_env=env(prometheus.url, rule_file))
    created = requests.post(f"{bridge.url}/api/alerts", json=SEED_BODY, headers=ADMIN, timeout=30).json()
    alert_id = created["id"]
    assert created["status"] == "applied"
    received = requests.post(
        f"{bridge.url}/api/alertmanager/webhook", json=firing_of(alert_id), headers=ADMIN, timeout=10
    )
    assert received.status_code == 200, received.text

    restart(stack, prometheus)  # nothing changed meanwhile: Prometheus reads the same file again
    wait_until(lambda: alert_id in loaded(prometheus), timeout=30, what="loaded after the restart")

    prometheus.process.stop()
    changed = requests.put(
        f"{bridge.url}/api/alerts/{alert_id}", json={"threshold": 50}, headers=ADMIN, timeout=30
    )
    assert (changed.status_code, changed.json()["status"]) == (200, "pending")  # stored; Prometheus is down
    restart(stack, prometheus)
    wait_until(lambda: loaded(prometheus).get(alert_id, "").endswith("> 50"), timeout=30, what="the change")

    bridge.process.stop()
    again = bridge_factory(pushgateway.url, data_dir=data_dir, extra_env=env(prometheus.url, rule_file))
    one = requests.get(f"{again.url}/api/alerts/{alert_id}", headers=ADMIN, timeout=10).json()
    assert (one["loaded"], one["rule"]["expr"]) == (True, "instance:node_cpu_utilisation:rate5m * 100 > 50.0")
    history = requests.get(f"{again.url}/api/alerts/{alert_id}/history", headers=ADMIN, timeout=10).json()
    assert [(event["status"], event["alertname"]) for event in history["events"]] == [
        ("firing", "HighCpuUsage")
    ]


def test_clients_changing_two_alerts_at_once_leave_file_and_prometheus_in_the_last_stored_state(
    stack: Stack, bridge_factory: BridgeFactory, pushgateway: Pushgateway, tmp_path: Path
) -> None:
    """Each change renders the whole file from storage: one that read the others' rules before another
    client stored its change must not write the file after it (the change would be lost in the file)."""
    rule_file = tmp_path / "api.rules.yml"
    prometheus = stack.prometheus(rule_files=[rule_file])
    bridge: Bridge = bridge_factory(pushgateway.url, extra_env=env(prometheus.url, rule_file))
    ids = [
        requests.post(
            f"{bridge.url}/api/alerts", json={**SEED_BODY, "name": name}, headers=ADMIN, timeout=30
        ).json()["id"]
        for name in ("High CPU A", "High CPU B")
    ]
    answers: list[int] = []

    def change(alert_id: str, threshold: int) -> None:
        response = requests.put(
            f"{bridge.url}/api/alerts/{alert_id}", json={"threshold": threshold}, headers=ADMIN, timeout=120
        )
        answers.append(response.status_code)

    clients = [threading.Thread(target=change, args=(ids[n % 2], n)) for n in range(10, 50)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    assert answers == [200] * len(clients)

    stored = {
        alert_id: requests.get(f"{bridge.url}/api/alerts/{alert_id}", headers=ADMIN, timeout=10).json()[
            "rule"
        ]["expr"]
        for alert_id in ids
    }
    assert file_rules(rule_file) == stored
    wait_until(
        lambda: (
            {key: threshold(expr) for key, expr in loaded(prometheus).items()}
            == {key: threshold(expr) for key, expr in stored.items()}
        ),
        timeout=30,
        what="Prometheus holding the stored rules",
    )


def test_two_clients_changing_one_alert_leave_file_and_prometheus_in_the_last_stored_state(
    stack: Stack, bridge_factory: BridgeFactory, pushgateway: Pushgateway, tmp_path: Path
) -> None:
    rule_file = tmp_path / "api.rules.yml"
    prometheus = stack.prometheus(rule_files=[rule_file])
    bridge: Bridge = bridge_factory(pushgateway.url, extra_env=env(prometheus.url, rule_file))
    created = requests.post(f"{bridge.url}/api/alerts", json=SEED_BODY, headers=ADMIN, timeout=30).json()
    alert_id = created["id"]
    answers: list[int] = []

    def change(threshold: int) -> None:
        response = requests.put(
            f"{bridge.url}/api/alerts/{alert_id}", json={"threshold": threshold}, headers=ADMIN, timeout=60
        )
        answers.append(response.status_code)

    clients = [threading.Thread(target=change, args=(threshold,)) for threshold in range(10, 40)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    assert answers == [200] * len(clients)

    stored = requests.get(f"{bridge.url}/api/alerts/{alert_id}", headers=ADMIN, timeout=10).json()
    last = stored["rule"]["expr"]
    assert last in {f"instance:node_cpu_utilisation:rate5m * 100 > {t}.0" for t in range(10, 40)}
    assert file_rules(rule_file) == {alert_id: last}
    # Prometheus prints the expression its own way (`> 15` for `> 15.0`): compare the thresholds.
    assert {key: threshold(expr) for key, expr in loaded(prometheus).items()} == {alert_id: threshold(last)}
