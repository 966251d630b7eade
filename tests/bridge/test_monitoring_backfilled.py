"""/api/monitoring/infrastructure/containers and /performance on a real Prometheus holding series this
machine cannot produce (cAdvisor is not run here, nor Tempo, nor the blackbox exporter): cAdvisor-shaped,
span-metric, service-graph and probe series backfilled with promtool. Every value equals what Prometheus
itself answers at the same evaluation time, and the rates are the ones the series were written with."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from bridge.backfill import Series, instant, prometheus_with, value_of
from bridge.conftest import ADMIN_KEY, Bridge, BridgeFactory
from bridge.test_monitoring_api import READER, monitoring_config
from stack import Prometheus, Pushgateway, Stack

ADMIN = {"x-api-key": ADMIN_KEY}
CADVISOR = {"job": "cadvisor", "instance": "cadvisor:8080"}
BRIDGE = {**CADVISOR, "id": "/docker/aaa", "name": "bridge", "image": "bundle/bridge:1"}
WORKER = {**CADVISOR, "id": "/docker/bbb", "name": "worker", "image": "bundle/worker:2"}
MACHINE = {**CADVISOR, "id": "/"}  # the root cgroup: the whole machine, not a container
SERVER = {"span_kind": "SPAN_KIND_SERVER", "span_name": "GET /stations"}


def read(bridge: Bridge, path: str, at: int, headers: dict[str, str] = ADMIN) -> Any:
    response = requests.get(f"{bridge.url}{path}", headers=headers, params={"time": at}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def started(
    stack: Stack, bridge_factory: BridgeFactory, pushgateway: Pushgateway, series: Series
) -> tuple[Bridge, Prometheus]:
    prometheus = prometheus_with(stack, series)
    bridge = bridge_factory(
        pushgateway.url, config=monitoring_config(), extra_env={"BRIDGE_PROMETHEUS_URL": prometheus.url}
    )
    return bridge, prometheus


def constant(value: float) -> Callable[[int], float]:
    return lambda _t: value


def container_series(end: int) -> Series:
    series = Series(end)
    for labels, cores, memory, received in (
        (BRIDGE, 0.25, 104_857_600, 2000),
        (WORKER, 1.5, 52_428_800, 300),
    ):
        series.counter("container_cpu_usage_seconds_total", {**labels, "cpu": "total"}, cores)
        series.add("container_memory_working_set_bytes", labels, constant(memory))
        series.counter("container_network_receive_bytes_total", {**labels, "interface": "eth0"}, received)
        series.counter(
            "container_network_transmit_bytes_total", {**labels, "interface": "eth0"}, received / 2
        )
    series.counter("container_cpu_usage_seconds_total", {**MACHINE, "cpu": "total"}, 3.0)
    series.add("container_memory_working_set_bytes", MACHINE, constant(8e9))
    series.add("container_start_time_seconds", BRIDGE, constant(end - 86_400))
    # The worker restarted 20 and 10 minutes before `end`: its start time changed twice.
    series.add(
        "container_start_time_seconds",
        WORKER,
        lambda t: end - 3600 if t < -1200 else (end - 1200 if t < -600 else end - 600),
    )
    return series


@pytest.mark.slow
def test_containers_from_cadvisor_series(
    stack: Stack, bridge_factory: BridgeFactory, pushgateway: Pushgateway
) -> None:
    end = int(time.time()) - 60
    bridge, prometheus = started(stack, bridge_factory, pushgateway, container_series(end))
    body = read(bridge, "/api/monitoring/infrastructure/containers", end)
    assert body["time"].startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(end)))
    found = {container["name"]: container for container in body["containers"]}
    assert sorted(found) == ["bridge", "worker"]  # the root cgroup has no `name`: not a container
    for name, cores, memory, received, restarts in (
        ("bridge", 0.25, 104_857_600, 2000, 0),
        ("worker", 1.5, 52_428_800, 300, 2),
    ):
        container = found[name]
        on = f'{{name="{name}"}}'
        assert (container["instance"], container["image"]) == (
            "cadvisor:8080",
            f"bundle/{name}:{'1' if name == 'bridge' else '2'}",
        )
        assert container["cpu_cores"] == value_of(
            prometheus, f"sum(rate(container_cpu_usage_seconds_total{on}[5m]))", end
        )
        assert container["cpu_cores"] == pytest.approx(cores)
        assert container["memory_working_set_bytes"] == memory
        assert container["network_receive_bytes_per_second"] == value_of(
            prometheus, f"sum(rate(container_network_receive_bytes_total{on}[5m]))", end
        )
        assert container["network_receive_bytes_per_second"] == pytest.approx(received)
        assert container["network_transmit_bytes_per_second"] == pytest.approx(received / 2)
        assert container["restarts_last_hour"] == value_of(
            prometheus, f"changes(container_start_time_seconds{on}[1h])", end
        )
        assert container["restarts_last_hour"] == restarts
    assert found["worker"]["started"] == time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(end - 600))

    # Containers carry no `service` label: a key limited to team-a's services sees none.
    assert read(bridge, "/api/monitoring/infrastructure/containers", end, READER)["containers"] == []


def performance_series(end: int) -> Series:
    series = Series(end)
    api = {"service": "team-a-api", **SERVER}
    series.counter("traces_spanmetrics_calls_total", {**api, "status_code": "STATUS_CODE_UNSET"}, 9)
    series.counter("traces_spanmetrics_calls_total", {**api, "status_code": "STATUS_CODE_ERROR"}, 1)
    # Its calls to the database: client spans, not requests it serves.
    client = {"service": "team-a-api", "span_kind": "SPAN_KIND_CLIENT", "span_name": "SELECT"}
    series.counter("traces_spanmetrics_calls_total", {**client, "status_code": "STATUS_CODE_UNSET"}, 100)
    db = {"service": "team-b-db", "span_kind": "SPAN_KIND_SERVER", "span_name": "query"}
    series.counter("traces_spanmetrics_calls_total", {**db, "status_code": "STATUS_CODE_UNSET"}, 5)
    for le, per_second in (("0.1", 5), ("0.25", 8), ("0.5", 9), ("1.0", 9.9), ("+Inf", 10)):
        series.counter(
            "traces_spanmetrics_latency_bucket",
            {**api, "status_code": "STATUS_CODE_UNSET", "le": le},
            per_second,
        )
    for le, per_second in (("0.01", 4), ("+Inf", 5)):
        series.counter(
            "traces_spanmetrics_latency_bucket",
            {**db, "status_code": "STATUS_CODE_UNSET", "le": le},
            per_second,
        )
    web_api = {"client": "team-a-web", "server": "team-a-api"}
    api_db = {"client": "team-a-api", "server": "team-b-db"}
    series.counter("traces_service_graph_request_total", web_api, 4)
    series.counter("traces_service_graph_request_failed_total", web_api, 0.5)
    series.counter("traces_service_graph_request_total", api_db, 2)
    probe = {"job": "endpoints", "service": "team-a-api", "instance": "http://team-a-api:8000/health"}
    # Down for the first ten of the thirty minutes, up since.
    series.add("probe_success", probe, lambda t: 0 if t < -1200 else 1)
    series.add("probe_duration_seconds", probe, constant(0.125))
    series.add("probe_http_status_code", probe, lambda t: 503 if t < -1200 else 200)
    return series


@pytest.mark.slow
def test_performance_from_span_metrics_service_graphs_and_probes(
    stack: Stack, bridge_factory: BridgeFactory, pushgateway: Pushgateway
) -> None:
    end = int(time.time()) - 60
    bridge, prometheus = started(stack, bridge_factory, pushgateway, performance_series(end))
    overview = read(bridge, "/api/monitoring/performance", end)
    assert overview["window"] == "5m"
    services = {service["service"]: service for service in overview["services"]}
    assert sorted(services) == ["team-a-api", "team-a-web", "team-b-db"]
    api = read(bridge, "/api/monitoring/performance/service/team-a-api", end)
    assert {key: value for key, value in api.items() if key not in ("time", "window")} == services[
        "team-a-api"
    ]

    served = 'service="team-a-api", span_kind="SPAN_KIND_SERVER"'
    calls = f"sum(rate(traces_spanmetrics_calls_total{{{served}}}[5m]))"
    errors = f'sum(rate(traces_spanmetrics_calls_total{{{served}, status_code="STATUS_CODE_ERROR"}}[5m]))'
    assert api["request_rate"] == value_of(prometheus, calls, end)
    assert api["request_rate"] == pytest.approx(10)  # the client spans' 100/s are not requests served
    assert api["error_rate"] == pytest.approx(1)
    assert api["error_ratio"] == value_of(prometheus, f"{errors} / {calls}", end)
    assert api["error_ratio"] == pytest.approx(0.1)
    buckets = f"sum by (le) (rate(traces_spanmetrics_latency_bucket{{{served}}}[5m]))"
    for key, quantile in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        assert api["latency_seconds"][key] == value_of(
            prometheus, f"histogram_quantile({quantile}, {buckets})", end
        )
    assert api["latency_seconds"]["p50"] == pytest.approx(0.1)  # half the requests end by 0.1 s
    assert api["latency_seconds"]["p95"] == pytest.approx(0.5 + 0.5 * (9.5 - 9) / (9.9 - 9))

    assert api["upstream"] == [
        {"service": "team-a-web", "request_rate": pytest.approx(4), "error_rate": pytest.approx(0.5)}
    ]
    assert api["downstream"] == [
        {"service": "team-b-db", "request_rate": pytest.approx(2), "error_rate": 0.0}
    ]
    (endpoint,) = api["endpoints"]
    probe = 'probe_success{job="endpoints", service="team-a-api"}'
    assert endpoint["url"] == "http://team-a-api:8000/health"
    assert (endpoint["up"], endpoint["http_status_code"], endpoint["response_time_seconds"]) == (
        True,
        200,
        0.125,
    )
    assert endpoint["availability_ratio"] == value_of(prometheus, f"avg_over_time({probe}[1h])", end)
    assert endpoint["availability_ratio"] == pytest.approx(81 / 121)  # 40 of 121 samples down

    db = services["team-b-db"]
    assert (db["request_rate"], db["error_rate"], db["error_ratio"]) == (pytest.approx(5), 0.0, 0.0)
    assert db["upstream"] == [{"service": "team-a-api", "request_rate": pytest.approx(2), "error_rate": 0.0}]
    assert db["endpoints"] == []
    web = services["team-a-web"]  # known only from the service graph: it serves no traced requests
    assert (web["request_rate"], web["latency_seconds"]["p99"], web["upstream"]) == (None, None, [])
    assert [edge["server"] for edge in overview["service_map"]] == ["team-b-db", "team-a-api"]

    # A key limited to team-a: team-b's service and the edge to it are not there.
    limited = read(bridge, "/api/monitoring/performance", end, READER)
    assert [service["service"] for service in limited["services"]] == ["team-a-api", "team-a-web"]
    assert [(edge["client"], edge["server"]) for edge in limited["service_map"]] == [
        ("team-a-web", "team-a-api")
    ]
    assert limited["services"][0]["downstream"] == []
    hidden = read(bridge, "/api/monitoring/performance/service/team-b-db", end, READER)
    assert (hidden["request_rate"], hidden["upstream"], hidden["endpoints"]) == (None, [], [])
    assert instant(prometheus, 'traces_spanmetrics_calls_total{service="team-b-db"}', end)  # it is there
