"""`--web.listen-address` given several times (as exporter-toolkit takes it): one bridge process, one app,
every API on each address; a bad or busy address stops start-up with one line and status 2."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import requests
import yaml

from bridge.conftest import ADMIN_KEY, BRIDGE_BIN, BridgeFactory, default_config
from stack import Pushgateway, ServerProcess, Stack, free_port, wait_until


def start_bridge(stack: Stack, tmp_path: Path, pushgateway_url: str, *addresses: str) -> ServerProcess:
    config = tmp_path / "bridge.yml"
    config.write_text(yaml.safe_dump(default_config()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    env |= {"BRIDGE_PUSHGATEWAY_URL": pushgateway_url, "BRIDGE_DATA_DIR": str(tmp_path / "data")}
    argv = [BRIDGE_BIN, *(f"--web.listen-address={address}" for address in addresses), f"--config={config}"]
    return stack.process("bridge", argv, f"http://{addresses[0]}", "/health", env=env)


def accepted_sidecar_events(url: str) -> float:
    for line in requests.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith('bridge_events_accepted_total{source="sidecar"}'):
            return float(line.rpartition(" ")[2])
    return 0.0


def test_every_address_serves_every_api_of_one_bridge(
    stack: Stack, pushgateway: Pushgateway, tmp_path: Path
) -> None:
    first, second = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    start_bridge(stack, tmp_path, pushgateway.url, first, second)
    headers = {"x-api-key": ADMIN_KEY}
    app = {"app_id": str(uuid.uuid4()), "name": "two-doors-app", "version": "1.0.0"}
    event = {"site_id": "site1", "app": app, "entity_type": "job", "business_key": "daily-batch"}
    answer = requests.post(
        f"http://{second}/v1/events/batch",
        json={"events": [{**event, "kind": "started"}, {**event, "kind": "finished"}]},
        headers=headers,
        timeout=5,
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] == 2
    registered = requests.post(
        f"http://{first}/api/v1/schedulers/register",
        json={"scheduler_id": "door-one", "service_name": "demo", "job_name": "Demo"},
        headers=headers,
        timeout=5,
    )
    assert registered.status_code == 201, registered.text
    # One app behind both sockets: the first address counts the events the second accepted.
    assert accepted_sidecar_events(f"http://{first}") == 2

    def both_pushed() -> bool:
        text = pushgateway.metrics_text()
        return 'app="two-doors-app"' in text and 'scheduler_id="door-one"' in text

    wait_until(both_pushed, what="both writes in Pushgateway")


def test_the_access_log_names_the_peer_not_what_x_forwarded_for_claims(
    bridge_factory: BridgeFactory, pushgateway: Pushgateway
) -> None:
    """The bridge reads no client address: a local client cannot put another one in its log."""
    bridge = bridge_factory(pushgateway.url, extra_env={"BRIDGE_LOG_LEVEL": "debug"})
    probe = f"/health?probe={uuid.uuid4().hex}"
    forged = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}
    assert requests.get(bridge.url + probe, headers=forged, timeout=5).status_code == 200
    wait_until(lambda: probe in bridge.process.log(), what="the request in the access log")
    line = next(line for line in bridge.process.log().splitlines() if probe in line)
    assert "127.0.0.1:" in line
    assert "203.0.113.9" not in line


def test_the_ipv6_loopback_is_an_address_too(stack: Stack, pushgateway: Pushgateway, tmp_path: Path) -> None:
    port = free_port()
    start_bridge(stack, tmp_path, pushgateway.url, f"127.0.0.1:{free_port()}", f"[::1]:{port}")
    assert requests.get(f"http://[::1]:{port}/health", timeout=5).status_code == 200


def run_bridge(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    env["BRIDGE_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [BRIDGE_BIN, *args], capture_output=True, text=True, timeout=20, env=env, check=False
    )


def test_a_bad_address_exits_2_naming_the_flag_and_the_reason(tmp_path: Path) -> None:
    result = run_bridge(tmp_path, "--web.listen-address=127.0.0.1:8000", "--web.listen-address=:99999")
    assert result.returncode == 2
    assert (
        "error: argument --web.listen-address: ':99999' is not HOST:PORT (port 99999 is outside 0-65535)"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_busy_address_exits_2_and_leaves_the_other_free(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        taken = busy.getsockname()[1]
        free = free_port()
        result = run_bridge(
            tmp_path, f"--web.listen-address=127.0.0.1:{free}", f"--web.listen-address=127.0.0.1:{taken}"
        )
    assert result.returncode == 2
    assert f"pushgateway-bridge: --web.listen-address: cannot listen on 127.0.0.1:{taken}: " in result.stderr
    assert "Traceback" not in result.stderr
    with socket.create_server(("127.0.0.1", free)):
        pass  # the socket bound before the failure was closed
