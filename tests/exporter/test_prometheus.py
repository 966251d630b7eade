"""A real Prometheus scrapes the exporter and evaluates a CPU utilisation recording rule over it."""

from __future__ import annotations

from pathlib import Path

import yaml

from exporter_support import start
from stack import Stack

CPU_RULE = {
    "groups": [
        {
            "name": "exporter-test",
            "rules": [
                {
                    "record": "instance:node_cpu_utilisation:rate1m",
                    "expr": "1 - avg without (cpu) (sum without (mode) ("
                    'rate(node_cpu_seconds_total{mode=~"idle|iowait|steal"}[1m])))',
                }
            ],
        }
    ]
}


def test_prometheus_scrapes_the_exporter_and_the_cpu_rule_has_a_value(stack: Stack, tmp_path: Path) -> None:
    exporter_url = start(stack)
    rules = tmp_path / "cpu.rules.yml"
    rules.write_text(yaml.safe_dump(CPU_RULE))
    prometheus = stack.prometheus(targets=[exporter_url.removeprefix("http://")], rule_files=[rules])
    up = prometheus.wait_for('up{job="test"}', lambda result: bool(result) and result[0]["value"][1] == "1")
    assert up[0]["metric"]["instance"] == exporter_url.removeprefix("http://")
    utilisation = prometheus.wait_for("instance:node_cpu_utilisation:rate1m", timeout=20)
    assert 0.0 <= float(utilisation[0]["value"][1]) <= 1.0
    failing = prometheus.query("node_scrape_collector_success == 0")
    assert failing == []
