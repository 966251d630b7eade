"""`make run` (scripts/run.py): the bundle starts on loopback, answers at its URLs, stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from stack import binary, free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent


def test_run_starts_every_component_and_ctrl_c_stops_them(tmp_path: Path) -> None:
    for name in ("prometheus", "pushgateway", "alertmanager"):
        binary(name)  # fails under CI when a Debian package is missing
    names = ("prometheus", "pushgateway", "alertmanager", "exporter", "bridge")
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
        urls = dict(re.findall(r"^  (\w+)\s+(http://127\.0\.0\.1:\d+)$", output.read_text(), re.MULTILINE))
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
        # Prometheus loaded the rendered rules.
        groups = requests.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert {"host.alerts", "scheduler.alerts", "bridge.alerts"} <= {group["name"] for group in groups}

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
