"""`make run` (scripts/run.py): the bundle starts on loopback, answers at its URLs, stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from stack import binary, free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent


def test_run_starts_every_component_and_ctrl_c_stops_them(tmp_path: Path) -> None:
    for name in ("prometheus", "pushgateway", "alertmanager"):
        binary(name)  # fails under CI when a Debian package is missing
    names = ("prometheus", "pushgateway", "alertmanager", "exporter", "bridge", "sidecar", "system")
    env = {**os.environ, **{f"BUNDLE_{name.upper()}_PORT": str(free_port()) for name in names}}
    env["BUNDLE_RUN_DIR"] = str(tmp_path / "run")
    output = tmp_path / "run.out"
    with output.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "run.py")],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
    try:
        wait_until(
            lambda: "Press Ctrl-C" in output.read_text(), timeout=60, what="make run to print its URLs"
        )
        printed = output.read_text()
        urls = dict(re.findall(r"^  (\w+)\s+(http://127\.0\.0\.1:\d+)(?:  \(.+\))?$", printed, re.MULTILINE))
        for name in names:
            assert urls[name] == f"http://127.0.0.1:{env[f'BUNDLE_{name.upper()}_PORT']}"
        assert requests.get(f"{urls['exporter']}/metrics", timeout=5).status_code == 200
        assert requests.get(f"{urls['pushgateway']}/-/ready", timeout=5).status_code == 200
        assert requests.get(f"{urls['alertmanager']}/-/ready", timeout=5).status_code == 200
        prometheus = urls["prometheus"]

        # The printed demo key writes through the bridge into Pushgateway.
        key = re.search(r"Demo API key for the bridge .*: (\S+)$", output.read_text(), re.MULTILINE)
        assert key, output.read_text()
        registered = requests.post(
            f"{urls['bridge']}/api/v1/schedulers/register",
            json={"scheduler_id": "demo-job", "service_name": "demo", "job_name": "Demo"},
            headers={"x-api-key": key.group(1)},
            timeout=5,
        )
        assert registered.status_code == 201, registered.text
        wait_until(
            lambda: (
                'scheduler_id="demo-job"' in requests.get(f"{urls['pushgateway']}/metrics", timeout=5).text
            ),
            what="the demo scheduler's group in Pushgateway",
        )
        # The sidecar seed's snippet sends no key to the bridge's second port: the printed anonymous scope
        # takes its batch there, and it reaches Pushgateway too.
        assert "Without a key the bridge grants the anonymous scope: services and sidecar apps *" in printed
        assert f"this run's bridge is on {env['BUNDLE_SIDECAR_PORT']}" in printed
        app = {"app_id": str(uuid.uuid4()), "name": "my-app", "version": "1.0.0"}
        event = {"site_id": "site1", "app": app, "entity_type": "job", "business_key": "daily-batch"}
        batch = requests.post(
            f"{urls['sidecar']}/v1/events/batch",
            json={"events": [{**event, "kind": "started"}, {**event, "kind": "finished", "duration_s": 1.5}]},
            timeout=5,
        )
        assert batch.status_code == 202, batch.text
        assert batch.json()["accepted"] == 2
        wait_until(
            lambda: 'app="my-app"' in requests.get(f"{urls['pushgateway']}/metrics", timeout=5).text,
            what="the sidecar app's group in Pushgateway",
        )
        # The System Service seed's notify sends no key either, to its port 8013 (here: this run's).
        notified = requests.post(
            f"{urls['system']}/api/notifications/notify",
            json={"user_id": "user123", "subject": "Model Validation Complete", "message": "validated"},
            timeout=5,
        )
        assert notified.status_code == 202, notified.text
        assert notified.json()["deliveries"]["realtime"]["status"] == "sent"
        # ... and its alert call: the alert becomes a rule of this run's Prometheus.
        seed_alert = {"name": "High CPU Usage", "description": "CPU usage above 90%", "severity": "warning",
                      "service": "data-processing", "threshold": 90}  # fmt: skip
        alert = requests.post(f"{urls['system']}/api/alerts", json=seed_alert, timeout=30)
        assert alert.status_code == 201, alert.text
        assert alert.json()["status"] == "applied"
        loaded = requests.get(f"{prometheus}/api/v1/rules", params={"type": "alert"}, timeout=5).json()
        assert [
            rule["name"]
            for group in loaded["data"]["groups"]
            for rule in group["rules"]
            if rule["labels"].get("alert_id") == alert.json()["id"]
        ] == ["HighCpuUsage"]
        # Prometheus loaded the rendered rules.
        groups = requests.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert {"host.alerts", "scheduler.alerts", "bridge.alerts"} <= {group["name"] for group in groups}

        # The endpoint probes: the blackbox exporter runs, and Prometheus' endpoints job reads the bridge's
        # service discovery with the demo key (a 401 or 403 there would count as a failed refresh).
        assert requests.get(f"{urls['blackbox']}/-/healthy", timeout=5).status_code == 200

        def sd_refreshes() -> dict[str, float]:
            text = requests.get(f"{prometheus}/metrics", timeout=5).text
            wanted = ("prometheus_sd_refresh_duration_seconds_count", "prometheus_sd_refresh_failures_total")
            return {
                sample.name: sample.value
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name in wanted and sample.labels.get("mechanism") == "http"
            }

        refreshed = wait_until(
            lambda: (found := sd_refreshes()).get("prometheus_sd_refresh_duration_seconds_count") and found,
            timeout=20,
            what="Prometheus' first refresh of the endpoints' service discovery",
        )
        assert refreshed["prometheus_sd_refresh_failures_total"] == 0, refreshed

        def node_is_up() -> bool:
            body = requests.get(
                f"{prometheus}/api/v1/query", params={"query": 'up{job="node"}'}, timeout=5
            ).json()
            return [sample["value"][1] for sample in body["data"]["result"]] == ["1"]

        wait_until(node_is_up, timeout=40, interval=0.5, what="Prometheus to scrape the exporter")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert "Stopped." in output.read_text()
        for url in urls.values():
            try:
                requests.get(url, timeout=1)
            except requests.ConnectionError:
                continue
            raise AssertionError(f"{url} still answers after Ctrl-C")
    finally:
        if process.poll() is None:
            process.kill()
            time.sleep(0.5)
