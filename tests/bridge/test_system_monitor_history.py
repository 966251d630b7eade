"""SystemMonitor's history and alerts end to end: a real host-exporter scraped by a real Prometheus with the
bundle's host recording rules, the real bridge's history and alert routes; each value of
`get_historical_data` equals what Prometheus' own API answers at that time."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from conftest import REPO_ROOT

import exporter_support
from bridge.conftest import ADMIN_KEY, BridgeFactory
from monitoring_sdk import SystemMonitor
from stack import Prometheus, Pushgateway, Stack

EXPRS = {
    "cpu_percent": "instance:node_cpu_utilisation:rate5m{{instance={instance!r}}} * 100",
    "memory_percent": "instance:node_memory_utilisation:ratio{{instance={instance!r}}} * 100",
    "disk_percent": 'instance_mountpoint:node_filesystem_utilisation:ratio{{instance={instance!r}, mountpoint="/"}} * 100',
}


def at(prometheus: Prometheus, expr: str, moment: float) -> float | None:
    result = requests.get(
        f"{prometheus.url}/api/v1/query", params={"query": expr, "time": f"{moment:.3f}"}, timeout=10
    ).json()["data"]["result"]
    assert len(result) <= 1, (expr, result)
    return float(result[0]["value"][1]) if result else None


@pytest.mark.slow
def test_history_and_alerts_come_from_the_real_prometheus_through_the_bridge(
    stack: Stack, bridge_factory: BridgeFactory, pushgateway: Pushgateway, tmp_path: Path
) -> None:
    instance = exporter_support.start(stack).split("://", 1)[1]
    alerts = tmp_path / "alerts.rules.yml"
    rule = {"alert": "HostExporterUp", "expr": 'up{job="node"} == 1', "labels": {"severity": "info"}}
    alerts.write_text(yaml.safe_dump({"groups": [{"name": "test", "rules": [rule]}]}))
    prometheus = stack.prometheus(
        scrape_configs=[{"job_name": "node", "static_configs": [{"targets": [instance]}]}],
        rule_files=[REPO_ROOT / "rules" / "host.rules.yml", alerts],
    )
    bridge = bridge_factory(pushgateway.url, extra_env={"BRIDGE_PROMETHEUS_URL": prometheus.url})
    prometheus.wait_for(
        f'count_over_time(instance:node_cpu_utilisation:rate5m{{instance="{instance}"}}[1m]) >= 5', timeout=60
    )
    config: dict[str, Any] = {
        "monitoring": {
            "enabled": False,
            "log_interval": 1,
            "metrics_path": "unused",
            "alert_thresholds": {},
            "bridge_url": bridge.url,
            "api_key": ADMIN_KEY,
            "instance": instance,
        }
    }
    history = SystemMonitor(config).get_historical_data(days=0.01)  # 864 s at the 1 s log_interval
    with_values = [row for row in history if row["cpu_percent"] is not None]
    assert len(with_values) >= 3, history
    for row in with_values:
        moment = datetime.datetime.fromisoformat(row["timestamp"]).timestamp()
        for key, expr in EXPRS.items():
            assert row[key] == at(prometheus, expr.format(instance=instance), moment), (key, row)
        assert row["cpu_temp"] is None  # no sensor on this machine, none in Prometheus
    prometheus.wait_for('ALERTS{alertname="HostExporterUp", alertstate="firing"}')
    assert SystemMonitor(config).check_alerts() == ["HostExporterUp (info): 1"]
    config["monitoring"]["instance"] = "elsewhere:9100"
    assert SystemMonitor(config).check_alerts() == []
