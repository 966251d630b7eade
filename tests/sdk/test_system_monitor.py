"""monitoring_sdk.SystemMonitor, the Pi seed's drop-in: its keys and types from psutil, its history from
the bridge's history route (a strict stand-in that checks each request as the issue-14 contract states
it), its alerts from the bridge's alert API, and the seed's Flask route running on it unchanged."""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask  # a test dependency (requirements-dev.txt), never the SDK's: the README shows the route
import psutil
import pytest

from monitoring_sdk import SystemMonitor
from monitoring_sdk.clients import ApiError
from stack import free_port

KEY = "reader-key"
INSTANCE = "pi-gate-1:9100"
METRICS = ("host_cpu", "host_memory", "host_disk", "host_temperature")
SEED_CONFIG = {
    "monitoring": {
        "enabled": True,
        "log_interval": 300,
        "metrics_path": "data/metrics",
        "alert_thresholds": {"cpu_percent": 80, "memory_percent": 80, "disk_percent": 90, "cpu_temp": 70},
    }
}


class BridgeStandIn:
    """GET /api/monitoring/metrics/history/{metric} and GET /api/alerts as the bridge answers them; a request
    outside the contract (unknown metric, missing host, a step that is not a duration, no key) is a 422/401."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.series: dict[str, list[dict[str, Any]]] = {}
        self.alerts: list[dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                stand_in.requests.append((url.path, params))
                status, body = stand_in.answer(url.path, params, self.headers.get("x-api-key"))
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, params: dict[str, str], key: str | None) -> tuple[int, Any]:
        if key != KEY:
            return 401, {"detail": "missing API key"}
        if path == "/api/alerts":
            return (
                (200, {"alerts": self.alerts}) if params == {"state": "firing"} else invalid("query", params)
            )
        prefix = "/api/monitoring/metrics/history/"
        metric = path.removeprefix(prefix)
        if not path.startswith(prefix) or metric not in METRICS:
            return 404, {"detail": f"no metric {metric!r}"}
        return self.history(metric, params)

    def history(self, metric: str, params: dict[str, str]) -> tuple[int, Any]:
        if set(params) != {"host", "start", "end", "step"} or params["host"] != INSTANCE:
            return invalid("query", params)
        start, end, step = float(params["start"]), float(params["end"]), params["step"]
        if not step.endswith("s") or not step[:-1].isdigit() or end <= start:
            return invalid("step", params)
        if (end - start) / int(step[:-1]) > 11_000:
            return invalid("step", "too many points")
        return 200, {
            "metric": metric,
            "query": f"{metric}{{instance={INSTANCE!r}}}",
            "start": datetime.datetime.fromtimestamp(start, datetime.UTC).isoformat(),
            "end": datetime.datetime.fromtimestamp(end, datetime.UTC).isoformat(),
            "step": int(step[:-1]),
            "series": self.series.get(metric, []),
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def invalid(param: str, got: Any) -> tuple[int, Any]:
    return 422, {"detail": [{"loc": ["query", param], "msg": f"unexpected {got}", "type": "value_error"}]}


@pytest.fixture
def bridge() -> Iterator[BridgeStandIn]:
    stand_in = BridgeStandIn()
    try:
        yield stand_in
    finally:
        stand_in.stop()


def monitor(bridge: BridgeStandIn, thermal_zone: Path, **extra: Any) -> SystemMonitor:
    config = json.loads(json.dumps(SEED_CONFIG))
    config["monitoring"].update({"bridge_url": bridge.url, "api_key": KEY, "instance": INSTANCE, **extra})
    return SystemMonitor(config, thermal_zone=thermal_zone)


def test_system_stats_have_the_seeds_keys_types_and_meanings(bridge: BridgeStandIn, tmp_path: Path) -> None:
    zone = tmp_path / "temp"
    zone.write_text("48312\n")  # millidegrees, as /sys/class/thermal/thermal_zone0/temp
    before = psutil.net_io_counters()
    stats = monitor(bridge, zone).get_system_stats()
    types = {
        "timestamp": str, "cpu_percent": float, "memory_percent": float, "memory_used": int,
        "memory_total": int, "disk_percent": float, "disk_used": int, "disk_total": int, "uptime": int,
        "network_sent": int, "network_received": int, "cpu_temp": float,
    }  # fmt: skip
    assert {key: type(value) for key, value in stats.items()} == types
    assert datetime.datetime.fromisoformat(stats["timestamp"]).tzinfo is None  # the seed's naive local time
    assert stats["cpu_temp"] == 48.312
    assert 0 <= stats["cpu_percent"] <= 100
    assert stats["memory_total"] == psutil.virtual_memory().total
    assert 0 < stats["memory_used"] < stats["memory_total"]
    assert stats["disk_total"] == psutil.disk_usage("/").total
    assert stats["disk_used"] <= stats["disk_total"]
    assert stats["network_sent"] >= before.bytes_sent
    assert stats["network_received"] >= before.bytes_recv
    assert abs(stats["uptime"] - (time.time() - psutil.boot_time())) < 5  # seconds since boot, not ms
    assert monitor(bridge, tmp_path / "no-such-zone").get_system_stats()["cpu_temp"] == 0.0


def test_history_is_the_hosts_four_metrics_through_the_bridge_one_row_a_step(
    bridge: BridgeStandIn, tmp_path: Path
) -> None:
    t0 = 1_700_000_100.0
    bridge.series = {
        "host_cpu": [{"labels": {"instance": INSTANCE}, "values": [[t0, 12.5], [t0 + 300, 14.0]]}],
        "host_memory": [{"labels": {"instance": INSTANCE}, "values": [[t0, 40.0], [t0 + 300, 41.0]]}],
        "host_disk": [
            {
                "labels": {"instance": INSTANCE, "mountpoint": "/boot"},
                "values": [[t0, 90.0], [t0 + 300, 90.0]],
            },
            {"labels": {"instance": INSTANCE, "mountpoint": "/"}, "values": [[t0, 55.0], [t0 + 300, 55.5]]},
        ],
    }  # no host_temperature series: a board without a sensor
    history = monitor(bridge, tmp_path / "none").get_historical_data(days=2)
    assert [path for path, _ in bridge.requests] == [f"/api/monitoring/metrics/history/{m}" for m in METRICS]
    params = bridge.requests[0][1]
    assert float(params["end"]) - float(params["start"]) == pytest.approx(2 * 86400, abs=0.01)
    assert params["step"] == "300s"  # the seed's log_interval: 576 points
    assert history == [
        {
            "timestamp": datetime.datetime.fromtimestamp(t0).astimezone().isoformat(),
            "cpu_percent": 12.5,
            "memory_percent": 40.0,
            "disk_percent": 55.0,
            "cpu_temp": None,
        },
        {
            "timestamp": datetime.datetime.fromtimestamp(t0 + 300).astimezone().isoformat(),
            "cpu_percent": 14.0,
            "memory_percent": 41.0,
            "disk_percent": 55.5,
            "cpu_temp": None,
        },
    ]
    bridge.requests.clear()
    monitor(bridge, tmp_path / "none").get_historical_data(days=90)
    assert bridge.requests[0][1]["step"] == "707s"  # 90 days in at most 11,000 points


def test_check_alerts_answers_the_hosts_firing_alerts(bridge: BridgeStandIn, tmp_path: Path) -> None:
    bridge.alerts = [
        {
            "name": "HostHighCpu",
            "labels": {"severity": "warning"},
            "state": "firing",
            "alerts": [
                {"labels": {"instance": INSTANCE, "severity": "warning"}, "state": "firing", "value": "93.5"},
                {
                    "labels": {"instance": "other:9100", "severity": "warning"},
                    "state": "firing",
                    "value": "99",
                },
            ],
        },
        {
            "name": "HostDiskFull",
            "labels": {"severity": "critical"},
            "state": "firing",
            "alerts": [{"labels": {"instance": INSTANCE}, "state": "pending", "value": "91"}],
        },
    ]
    assert monitor(bridge, tmp_path).check_alerts() == ["HostHighCpu (warning): 93.5"]
    assert bridge.requests == [("/api/alerts", {"state": "firing"})]
    with pytest.raises(ApiError) as refused:
        monitor(bridge, tmp_path, api_key="wrong").check_alerts({"cpu_percent": 99})
    assert refused.value.status == 401


def test_the_seeds_status_route_runs_unchanged(bridge: BridgeStandIn, tmp_path: Path) -> None:
    bridge.series = {"host_cpu": [{"labels": {}, "values": [[1_700_000_100.0, 3.0]]}]}
    system_monitor = monitor(bridge, tmp_path)
    app = flask.Flask(__name__)

    @app.route("/status")  # type: ignore[untyped-decorator, unused-ignore]
    def system_status() -> Any:
        stats = system_monitor.get_system_stats()
        historical_data = system_monitor.get_historical_data(days=1)
        timestamps, cpu_values = [], []
        for metric in historical_data:
            timestamps.append(datetime.datetime.fromisoformat(metric["timestamp"]).strftime("%H:%M"))
            cpu_values.append(metric["cpu_percent"])
        return flask.jsonify(stats=stats, timestamps=timestamps, cpu_values=cpu_values)

    answer = app.test_client().get("/status").get_json()
    assert answer["cpu_values"] == [3.0]
    assert set(answer["stats"]) >= {"cpu_percent", "memory_percent", "disk_percent", "cpu_temp"}


def test_a_bridge_away_is_an_api_error_not_an_empty_history(tmp_path: Path) -> None:
    config = json.loads(json.dumps(SEED_CONFIG))
    config["monitoring"].update({"bridge_url": f"http://127.0.0.1:{free_port()}", "timeout_seconds": 1})
    system_monitor = SystemMonitor(config, thermal_zone=tmp_path)
    for call in (lambda: system_monitor.get_historical_data(days=1), system_monitor.check_alerts):
        with pytest.raises(ApiError) as away:
            call()
        assert away.value.status is None
        assert "ConnectionError" in str(away.value)
