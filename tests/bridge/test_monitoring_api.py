"""The monitoring API on the real bridge against a real Prometheus: the seed's curl commands (only the host
changed) while Prometheus scrapes two real host-exporters, the bridge and Pushgateway; every value equals
what Prometheus' own /api/v1/query answers at the evaluation time the bridge reports. Range queries, their
limits and refusals; keys limited to some services; hostile label values."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
import requests
from conftest import REPO_ROOT

import exporter_support
from bridge.backfill import instant
from bridge.conftest import ADMIN_KEY, TEAM_KEY, Bridge, BridgeFactory, bridge_starter
from bridge.read_support import READER_A, reader_config, run_curl
from stack import Prometheus, Pushgateway, Stack, free_port

ADMIN = {"x-api-key": ADMIN_KEY}
READER = {"x-api-key": READER_A}
# The seed README's "Example Usage" for monitoring, verbatim.
SEED_CURLS = """\
# Get system metrics
curl http://localhost:8013/api/monitoring/metrics

# Get service performance
curl http://localhost:8013/api/monitoring/performance/service/data-processing

# Get container metrics
curl http://localhost:8013/api/monitoring/infrastructure/containers
"""
ROUTES = (
    "/api/monitoring/metrics",
    "/api/monitoring/metrics/host_cpu",
    "/api/monitoring/metrics/history/host_cpu",
    "/api/monitoring/infrastructure",
    "/api/monitoring/infrastructure/containers",
    "/api/monitoring/performance",
    "/api/monitoring/performance/service/team-a-api",
)


def monitoring_config() -> dict[str, Any]:
    """The test keys, a read key limited to team-a's services, and the seed's key-less reads."""
    config = reader_config(rate_per_second=10000)
    config["anonymous"] = {"services": ["*"], "read": True, "rate_per_second": 10000}
    return config


def seed_commands() -> list[str]:
    return [line for line in SEED_CURLS.splitlines() if line.startswith("curl ")]


def seconds(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339).timestamp()


def get(bridge: Bridge, path: str, headers: dict[str, str] = ADMIN, **params: Any) -> requests.Response:
    return requests.get(f"{bridge.url}{path}", headers=headers, params=params, timeout=30)


def ok(bridge: Bridge, path: str, headers: dict[str, str] = ADMIN, **params: Any) -> Any:
    response = get(bridge, path, headers, **params)
    assert response.status_code == 200, response.text
    return response.json()


def one_value(prometheus: Prometheus, expr: str, at: float) -> float | None:
    result = instant(prometheus, expr, at)
    assert len(result) <= 1, (expr, result)
    return float(result[0]["value"][1]) if result else None


@dataclass
class HostStack:
    bridge: Bridge
    prometheus: Prometheus
    pushgateway: Pushgateway
    instances: list[str]


@pytest.fixture(scope="module")
def hosts(module_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> HostStack:
    """Two host-exporters (their instance labels differ by port), the bridge and Pushgateway scraped by a
    real Prometheus with the bundle's host recording rules; two climate services reported. One for the
    module (about 8 s to start and fill): the tests only read it, except the hostile-values test, which
    pushes a group of its own to Pushgateway and deletes it again."""
    stack = module_stack
    tmp = tmp_path_factory.mktemp("hosts")
    pushgateway = stack.pushgateway()
    # The second is a Raspberry Pi: its sysfs is the exporter tests' Pi 4 tree (a thermal zone at 48.686 °C),
    # with the firmware reporting "throttled now" (get_throttled bit 2).
    pi_sysfs = tmp / "sys-pi4"
    shutil.copytree(exporter_support.PI_PATHS.sysfs, pi_sysfs)
    (pi_sysfs / "devices/platform/soc/soc:firmware/get_throttled").write_text("0x4\n")
    instances = [
        exporter_support.start(stack, *flags).split("://", 1)[1]
        for flags in ((), (f"--path.sysfs={pi_sysfs}",))
    ]
    port = free_port()
    prometheus = stack.prometheus(
        scrape_configs=[
            {"job_name": "node", "static_configs": [{"targets": instances}]},
            {"job_name": "bridge", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]},
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [pushgateway.url.split("://", 1)[1]]}],
            },
        ],
        rule_files=[REPO_ROOT / "rules" / "host.rules.yml"],
    )
    bridge = bridge_starter(stack, tmp)(
        pushgateway.url,
        config=monitoring_config(),
        port=port,
        extra_env={"BRIDGE_PROMETHEUS_URL": prometheus.url},
    )
    for name, state in (("team-a-api", "up"), ("team-b-db", "down")):
        posted = requests.post(
            f"{bridge.url}/services/", json={"name": name, "status": state}, headers=ADMIN, timeout=10
        )
        assert posted.status_code == 200, posted.text

    def count_is(wanted: int) -> Any:
        return lambda result: bool(result) and float(result[0]["value"][1]) == wanted

    prometheus.wait_for("count(instance:node_cpu_utilisation:rate5m)", count_is(2), timeout=30)
    prometheus.wait_for("count(instance:node_network_receive_bytes_excluding_lo:rate5m)", count_is(2))
    prometheus.wait_for("count(service_last_report_timestamp_seconds)", count_is(2), timeout=30)
    prometheus.wait_for('up{job="bridge"} == 1')
    return HostStack(bridge, prometheus, pushgateway, instances)


@pytest.mark.slow
def test_the_seeds_curl_commands_answer_what_prometheus_answers(hosts: HostStack) -> None:
    metrics, performance, containers = seed_commands()
    code, body = run_curl(metrics, hosts.bridge)
    assert code == 200, body
    at = seconds(body["time"])
    found = {host["instance"]: host for host in body["hosts"]}
    assert sorted(found) == sorted(hosts.instances)
    for instance in hosts.instances:
        host = found[instance]
        on = f'{{job="node", instance="{instance}"}}'
        assert host["job"] == "node"
        assert host["up"] is True
        assert one_value(hosts.prometheus, f"up{on}", at) == 1
        assert host["cpu_percent"] == one_value(
            hosts.prometheus, f"instance:node_cpu_utilisation:rate5m{on} * 100", at
        )
        assert host["cpu_percent"] is not None
        assert host["memory_percent"] == one_value(
            hosts.prometheus, f"instance:node_memory_utilisation:ratio{on} * 100", at
        )
        assert 0 < host["memory_percent"] < 100
        assert host["disk_percent"] == one_value(
            hosts.prometheus, f"max(instance_mountpoint:node_filesystem_utilisation:ratio{on}) * 100", at
        )
        assert host["disk_percent"] is not None
        assert host["temperature_celsius"] == one_value(
            hosts.prometheus, f"instance:node_cpu_temperature_celsius:max{on}", at
        )
        for key, direction in (
            ("network_receive_bytes_per_second", "receive"),
            ("network_transmit_bytes_per_second", "transmit"),
        ):
            expected = one_value(
                hosts.prometheus, f"instance:node_network_{direction}_bytes_excluding_lo:rate5m{on}", at
            )
            assert host[key] == expected
            assert expected is not None
    # This machine has no temperature sensors (null: Prometheus has no sample); the Pi's zone reads 48.686 °C.
    assert [found[instance]["temperature_celsius"] for instance in hosts.instances] == [None, 48.686]
    services = {service["service"]: service for service in body["services"]}
    assert sorted(services) == ["team-a-api", "team-b-db"]
    assert services["team-a-api"]["status"] == "up"
    assert services["team-b-db"]["status"] == "down"
    for name, service in services.items():
        reported = one_value(
            hosts.prometheus, f'service_last_report_timestamp_seconds{{service="{name}"}}', at
        )
        assert reported is not None
        assert seconds(service["last_report"]) == pytest.approx(reported, abs=0.001)
        assert service["report_age_seconds"] == pytest.approx(at - reported, abs=0.001)
        assert service["report_age_seconds"] >= 0

    # No span metrics, probes or cAdvisor in this stack: empty answers, not errors.
    code, body = run_curl(performance, hosts.bridge)
    assert code == 200, body
    assert body["service"] == "data-processing"
    assert (body["request_rate"], body["error_ratio"], body["upstream"], body["endpoints"]) == (
        None,
        None,
        [],
        [],
    )
    assert body["latency_seconds"] == {"p50": None, "p95": None, "p99": None}
    code, body = run_curl(containers, hosts.bridge)
    assert code == 200, body
    assert body["containers"] == []


@pytest.mark.slow
def test_a_metric_now_by_catalogue_name_or_prometheus_name(hosts: HostStack) -> None:
    bridge, prometheus = hosts.bridge, hosts.prometheus
    first = hosts.instances[0]
    body = ok(bridge, "/api/monitoring/metrics/host_cpu", host=first)
    at = seconds(body["time"])
    assert body["metric"] == "host_cpu"
    assert [series["labels"] for series in body["series"]] == [{"instance": first, "job": "node"}]
    assert body["series"][0]["value"] == one_value(
        prometheus, f'instance:node_cpu_utilisation:rate5m{{instance="{first}"}} * 100', at
    )
    assert len(ok(bridge, "/api/monitoring/metrics/host_cpu")["series"]) == 2

    # A Prometheus name: the bridge's own request counter, scraped from its /metrics.
    body = ok(bridge, "/api/monitoring/metrics/bridge_http_requests_total")
    at = seconds(body["time"])
    expected = {
        json.dumps(sample["metric"], sort_keys=True): float(sample["value"][1])
        for sample in instant(prometheus, "bridge_http_requests_total", at)
    }
    assert expected
    assert {json.dumps(s["labels"], sort_keys=True): s["value"] for s in body["series"]} == expected

    body = ok(bridge, "/api/monitoring/metrics/service_status", service="team-a-api", time=f"{at:.3f}")
    assert {series["labels"]["service"] for series in body["series"]} == {"team-a-api"}
    assert {series["labels"]["status"]: series["value"] for series in body["series"]} == {
        "up": 1,
        "down": 0,
        "unknown": 0,
    }
    assert body["time"] == datetime.fromtimestamp(round(at, 3), UTC).isoformat(
        timespec="milliseconds"
    ).replace("+00:00", "Z")

    for name in ("rate(up[5m])", 'up{job="node"}', "up or vector(1)", "9lives"):
        response = get(bridge, f"/api/monitoring/metrics/{quote(name, safe='')}")
        assert response.status_code == 422, (name, response.text)
        assert response.json()["detail"][0]["loc"] == ["path", "metric_name"]
    response = get(bridge, "/api/monitoring/metrics", time="yesterday")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "time"]


@pytest.mark.slow
def test_history_is_prometheus_range_query_within_its_limits(hosts: HostStack) -> None:
    bridge, prometheus = hosts.bridge, hosts.prometheus
    first = hosts.instances[0]
    # Ten evaluations of the rule at least, so the range below has a value at each step.
    prometheus.wait_for(
        f'count_over_time(instance:node_cpu_utilisation:rate5m{{instance="{first}"}}[1m]) >= 10'
    )
    end = int(time.time()) - 1
    start = end - 6
    body = ok(bridge, "/api/monitoring/metrics/history/host_cpu", host=first, start=start, end=end, step="1s")
    assert (body["metric"], body["step"]) == ("host_cpu", 1)
    assert (seconds(body["start"]), seconds(body["end"])) == (start, end)
    expected = requests.get(
        f"{prometheus.url}/api/v1/query_range",
        params={
            "query": f'instance:node_cpu_utilisation:rate5m{{instance="{first}"}} * 100',
            "start": str(start),
            "end": str(end),
            "step": "1",
        },
        timeout=10,
    ).json()["data"]["result"]
    assert len(body["series"]) == 1
    assert body["series"][0]["labels"] == {"instance": first, "job": "node"}
    assert body["series"][0]["values"] == [[moment, float(value)] for moment, value in expected[0]["values"]]
    assert len(body["series"][0]["values"]) == 7

    # RFC 3339 says the same; a step in seconds as Prometheus takes it.
    rfc = ok(
        bridge,
        "/api/monitoring/metrics/history/host_cpu",
        host=first,
        start=datetime.fromtimestamp(start, UTC).isoformat().replace("+00:00", "Z"),
        end=datetime.fromtimestamp(end, UTC).isoformat(),
        step="1",
    )
    assert rfc["series"] == body["series"]

    defaults = ok(bridge, "/api/monitoring/metrics/history/host_cpu", host=first)
    assert defaults["step"] == 60
    assert seconds(defaults["end"]) - seconds(defaults["start"]) == 3600

    # Prometheus' limit: (end - start) / step at most 11,000.
    at_limit = ok(bridge, "/api/monitoring/metrics/history/up", start=end - 11_000 * 60, end=end, step="1m")
    assert at_limit["step"] == 60
    refused = get(bridge, "/api/monitoring/metrics/history/up", start=end - 11_001 * 60, end=end, step="1m")
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["query", "step"]
    assert "11000" in refused.json()["detail"][0]["msg"]

    refusals: list[tuple[dict[str, Any], str]] = [
        ({"start": "yesterday"}, "start"),
        ({"end": "2024-13-01T00:00:00Z"}, "end"),
        ({"start": "2024-01-15T01:00:00"}, "start"),  # no zone
        ({"start": end, "end": end - 60}, "end"),
        ({"step": "5x"}, "step"),
        ({"step": "0s"}, "step"),
        ({"step": "-5"}, "step"),
        ({"step": "1h5m3h"}, "step"),
    ]
    for params, param in refusals:
        response = get(bridge, "/api/monitoring/metrics/history/host_cpu", **params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", param], params


@pytest.mark.slow
def test_keys_see_only_what_their_scope_reads(hosts: HostStack) -> None:
    bridge = hosts.bridge
    for route in ROUTES:  # a key without `read`
        response = get(bridge, route, {"x-api-key": TEAM_KEY})
        assert response.status_code == 403, (route, response.text)
        assert "'read'" in response.json()["detail"]

    summary = ok(bridge, "/api/monitoring/metrics", READER)
    assert [service["service"] for service in summary["services"]] == ["team-a-api"]
    assert summary["hosts"] == []  # hosts carry no service: only keys reading every service see them
    assert ok(bridge, "/api/monitoring/infrastructure", READER)["hosts"] == []
    statuses = ok(bridge, "/api/monitoring/metrics/service_status", READER)
    assert {series["labels"]["service"] for series in statuses["series"]} == {"team-a-api"}
    assert 'service=~"team-a-.*"' in statuses["query"]
    other = ok(bridge, "/api/monitoring/metrics/service_status", READER, service="team-b-db")
    assert other["series"] == []
    history = ok(bridge, "/api/monitoring/metrics/history/service_status", READER)
    assert {series["labels"]["service"] for series in history["series"]} == {"team-a-api"}

    everything = ok(bridge, "/api/monitoring/metrics", ADMIN)
    assert [service["service"] for service in everything["services"]] == ["team-a-api", "team-b-db"]
    assert len(everything["hosts"]) == 2
    assert len(ok(bridge, "/api/monitoring/infrastructure")["hosts"]) == 2


@pytest.mark.slow
def test_infrastructure_per_host(hosts: HostStack) -> None:
    body = ok(hosts.bridge, "/api/monitoring/infrastructure")
    at = seconds(body["time"])
    found = {host["instance"]: host for host in body["hosts"]}
    assert sorted(found) == sorted(hosts.instances)
    for instance in hosts.instances:
        host, on = found[instance], f'{{job="node", instance="{instance}"}}'
        assert host["up"] is True
        for key, expr in (
            ("cpu_percent", f"instance:node_cpu_utilisation:rate5m{on} * 100"),
            ("memory_percent", f"instance:node_memory_utilisation:ratio{on} * 100"),
            ("load1_per_cpu", f"instance:node_load1_per_cpu:ratio{on}"),
            ("temperature_celsius", f"instance:node_cpu_temperature_celsius:max{on}"),
            ("uptime_seconds", f"time() - node_boot_time_seconds{on}"),
        ):
            assert host[key] == one_value(hosts.prometheus, expr, at), key
        assert host["uptime_seconds"] > 0
        filesystems = instant(
            hosts.prometheus, f"instance_mountpoint:node_filesystem_utilisation:ratio{on} * 100", at
        )
        assert filesystems
        assert host["filesystems"] == sorted(
            (
                {
                    "mountpoint": sample["metric"]["mountpoint"],
                    "device": sample["metric"]["device"],
                    "fstype": sample["metric"]["fstype"],
                    "used_percent": float(sample["value"][1]),
                }
                for sample in filesystems
            ),
            key=lambda filesystem: str(filesystem["mountpoint"]),
        )
    plain, pi = (found[instance] for instance in hosts.instances)
    assert plain["throttling"] is None  # no firmware flags off a Pi
    assert pi["throttling"] == {
        "under_voltage": False,
        "arm_frequency_capped": False,
        "throttled": True,
        "soft_temp_limit": False,
    }
    assert one_value(hosts.prometheus, f'node_rpi_throttled{{instance="{hosts.instances[1]}"}}', at) == 1


# A label value that would end the string and the selector early if pasted into PromQL unescaped.
HOSTILE = 'x"} or vector(1) or {a="\\'


@pytest.fixture
def hostile_group(hosts: HostStack) -> Iterator[str]:
    """A Pushgateway group of the test's own on the module's stack, deleted after the test."""
    group = f"{hosts.pushgateway.url}/metrics/job/hostile"
    yield group
    assert requests.delete(group, timeout=5).status_code == 202


@pytest.mark.slow
def test_hostile_values_are_one_matcher_each(hosts: HostStack, hostile_group: str) -> None:
    bridge = hosts.bridge
    # Exposition-format escaping of the same value: \" and \\.
    body = 'hostile_metric{service="x\\"} or vector(1) or {a=\\"\\\\"} 1\nhostile_metric{service="x"} 2\n'
    pushed = requests.put(hostile_group, data=body, timeout=5)
    assert pushed.status_code == 200, pushed.text
    hosts.prometheus.wait_for("count(hostile_metric) == 2")

    found = ok(bridge, "/api/monitoring/metrics/hostile_metric", service=HOSTILE)
    assert found["query"] == 'hostile_metric{service=~".*", service="x\\"} or vector(1) or {a=\\"\\\\"}'
    assert [(series["labels"]["service"], series["value"]) for series in found["series"]] == [(HOSTILE, 1)]

    braces = 'a"}{b=~".*"} \\ \n'
    found = ok(bridge, "/api/monitoring/metrics/host_cpu", host=braces, service="{}")
    assert found["query"] == (
        'instance:node_cpu_utilisation:rate5m{service=~".*", instance="a\\"}{b=~\\".*\\"} \\\\ \\n",'
        ' service="{}"} * 100'
    )
    assert found["series"] == []
    history = ok(bridge, "/api/monitoring/metrics/history/hostile_metric", service=HOSTILE)
    assert [series["labels"]["service"] for series in history["series"]] == [HOSTILE]


def test_without_prometheus_every_route_answers_503_naming_prometheus_url(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory
) -> None:
    unset = bridge_factory(pushgateway.url, config=monitoring_config())
    down = bridge_factory(
        pushgateway.url,
        config=monitoring_config(),
        extra_env={"BRIDGE_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}"},
    )
    for bridge in (unset, down):
        for route in ROUTES:
            response = get(bridge, route)
            assert response.status_code == 503, (route, response.text)
            assert "prometheus_url" in response.json()["detail"]
            assert int(response.headers["Retry-After"]) > 0
