"""A climate service's endpoint probed end to end, on real binaries: the service registers its `endpoint`
with the bridge -> Prometheus discovers it through the bridge's HTTP service discovery (the job make run
writes) -> the real blackbox exporter probes it -> the endpoint goes down: `probe_success` 0 and the
rendered EndpointDown (from a test-local monitoring.yml with a short `for`) fires through the real
Alertmanager on its rendered config, and the System Service's performance view shows the endpoint down ->
the endpoint comes back: `probe_success` 1, the alert resolves, Alertmanager sending the resolution to the
bridge's receiver, and the performance view shows it up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from bridge.conftest import ADMIN_KEY, Bridge, BridgeFactory

from generator.alertmanager import REPO_TEMPLATES
from generator.alertmanager import render as render_alertmanager
from generator.prometheus_rules import endpoints
from generator.yamlout import dump
from rules.sources import live_source
from scripts.bundle_run.configs import BLACKBOX_CONFIG, endpoints_job
from stack import Alertmanager, Prometheus, Pushgateway, Stack, binary, free_port, wait_until

SERVICE = "shop"
WAIT_SECONDS = 30


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Endpoint:
    """The service's HTTP endpoint: a tiny server that can be taken down and brought back on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/health"
        self.server: ThreadingHTTPServer | None = None

    def up(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Health)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()  # the port now refuses connections
            self.server = None


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    served.up()
    try:
        yield served
    finally:
        served.down()


def start_blackbox(stack: Stack) -> str:
    port = free_port()
    argv = [binary("prometheus-blackbox-exporter"), f"--config.file={BLACKBOX_CONFIG}",
            f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    stack.process("blackbox", argv, f"http://127.0.0.1:{port}", ready_path="/-/healthy")
    return f"127.0.0.1:{port}"


def start_probing(stack: Stack, bridge: Bridge, tmp_path: Path) -> tuple[Prometheus, Alertmanager]:
    """Prometheus and Alertmanager on the rendered endpoint rules and the committed routes (for this
    bridge, EndpointDown after 2s, Alertmanager's waits cut to 1s), probing through the blackbox exporter
    what the bridge's service discovery lists, read with the admin key."""
    key_file = tmp_path / "bridge_api_key"
    key_file.write_text(ADMIN_KEY)

    def change(raw: dict[str, Any]) -> None:
        raw.update(bridge_url=bridge.url, bridge_api_key_file=str(key_file))
        raw["endpoints"]["down_for"] = "2s"
        raw["alertmanager"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")

    source = live_source(tmp_path, change)
    rules = tmp_path / "endpoints.rules.yml"
    rules.write_text(dump(endpoints.rule_file(source)))
    alertmanager = stack.alertmanager(render_alertmanager(source, REPO_TEMPLATES))
    probes = endpoints_job(source.endpoints.job, bridge.url, start_blackbox(stack), str(key_file), "1s")
    prometheus = stack.prometheus(
        scrape_configs=[probes], rule_files=[rules], alertmanager_url=alertmanager.url
    )
    return prometheus, alertmanager


def register(bridge: Bridge, endpoint_url: str) -> None:
    body = {"name": SERVICE, "status": "up", "endpoint": endpoint_url}
    response = requests.post(f"{bridge.url}/services/", json=body, headers=bridge.headers(), timeout=5)
    assert response.status_code == 200, response.text


def history(bridge: Bridge, status: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{bridge.url}/api/alerts/history",
        params={"alertname": "EndpointDown"},
        headers=bridge.headers(),
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return [event for event in response.json()["events"] if event["status"] == status]


def endpoint_view(bridge: Bridge) -> dict[str, Any]:
    """The endpoint as GET /api/monitoring/performance/service/{name} shows it."""
    response = requests.get(
        f"{bridge.url}/api/monitoring/performance/service/{SERVICE}", headers=bridge.headers(), timeout=10
    )
    assert response.status_code == 200, response.text
    (shown,) = response.json()["endpoints"]
    return dict(shown)


@pytest.mark.slow
def test_an_endpoint_that_goes_down_fires_endpoint_down_and_resolves_when_it_comes_back(
    stack: Stack,
    pushgateway: Pushgateway,
    bridge_factory: BridgeFactory,
    endpoint: Endpoint,
    tmp_path: Path,
) -> None:
    port, data_dir = free_port(), tmp_path / "bridge-data"
    discovering = bridge_factory(pushgateway.url, port=port, data_dir=data_dir)
    register(discovering, endpoint.url)
    prometheus, alertmanager = start_probing(stack, discovering, tmp_path)
    # The same bridge again, now told where Prometheus is (which needed the bridge's URL to start).
    discovering.process.stop()
    bridge = bridge_factory(
        pushgateway.url, port=port, data_dir=data_dir, extra_env={"BRIDGE_PROMETHEUS_URL": prometheus.url}
    )
    probe = f'probe_success{{job="endpoints", service="{SERVICE}", instance="{endpoint.url}"}}'

    def value_is(expected: float) -> Any:
        return lambda result: [float(sample["value"][1]) for sample in result] == [expected]

    # Discovered through the bridge, probed through the blackbox exporter: the target is the exporter,
    # the endpoint its ?target= and the series' instance.
    prometheus.wait_for(probe, value_is(1), timeout=WAIT_SECONDS)
    (target,) = [t for t in prometheus.targets() if t["labels"]["job"] == "endpoints"]
    assert target["discoveredLabels"]["__address__"] == endpoint.url
    assert target["labels"] == {"job": "endpoints", "instance": endpoint.url, "service": SERVICE}
    assert prometheus.value(f'probe_http_status_code{{service="{SERVICE}"}}') == 200

    endpoint.down()
    prometheus.wait_for(probe, value_is(0), timeout=WAIT_SECONDS)
    assert prometheus.value(f'probe_http_status_code{{service="{SERVICE}"}}') == 0  # no answer at all

    def firing() -> list[dict[str, Any]]:
        return alertmanager.alerts(alertname="EndpointDown")

    (alert,) = wait_until(firing, timeout=WAIT_SECONDS, what="EndpointDown in Alertmanager")
    assert alert["labels"] == {
        "alertname": "EndpointDown",
        "job": "endpoints",
        "instance": endpoint.url,
        "service": SERVICE,
        "severity": "critical",
    }
    assert alert["annotations"]["summary"] == f"Endpoint of service {SERVICE} is down"
    assert alert["annotations"]["description"] == (
        f"Every probe of {endpoint.url} failed for 2s: no answer, or not a 2xx."
    )
    wait_until(lambda: history(bridge, "firing"), timeout=WAIT_SECONDS, what="the firing at the bridge")
    down = endpoint_view(bridge)
    assert (down["url"], down["up"], down["http_status_code"]) == (endpoint.url, False, None)  # no answer
    assert 0 < down["availability_ratio"] < 1  # up at first, down since

    endpoint.up()
    prometheus.wait_for(probe, value_is(1), timeout=WAIT_SECONDS)
    wait_until(lambda: not firing(), timeout=WAIT_SECONDS, what="EndpointDown to resolve in Alertmanager")
    (resolved,) = wait_until(
        lambda: history(bridge, "resolved"), timeout=WAIT_SECONDS, what="the resolution at the bridge"
    )
    assert (resolved["alertname"], resolved["labels"]["instance"]) == ("EndpointDown", endpoint.url)
    back = endpoint_view(bridge)
    assert (back["up"], back["http_status_code"]) == (True, 200)
    assert back["response_time_seconds"] > 0
