"""A drop-in for the Pi seed's `SystemMonitor(config)`: the same config shape and methods, the same keys.

`get_system_stats()` reads psutil now, as the seed did. History and alerts are no longer files and
thresholds of this process: the host exporter and Prometheus keep them, so `get_historical_data(days)`
reads the bridge's `GET /api/monitoring/metrics/history/{metric}` (host_cpu, host_memory, host_disk,
host_temperature of this host) and `check_alerts()` the host's firing alerts from `GET /api/alerts`.

Config: the seed's `monitoring` section (`enabled`, `log_interval`, `metrics_path`, `alert_thresholds`
are read and kept; the thresholds live in monitoring.yml now), plus where the bridge is:
`bridge_url` (default http://localhost:8013), `api_key` or `api_key_file` (a key with `read: true`),
`instance` (this host's Prometheus `instance` label, default `<hostname>:9100`, the host exporter's port)
and `timeout_seconds` (5).
"""

from __future__ import annotations

import datetime
import logging
import math
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil
import requests

from monitoring_sdk.clients.base import ApiClient, ApiError

DEFAULT_BRIDGE_URL = "http://localhost:8013"
EXPORTER_PORT = 9100
THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
MAX_POINTS = 11_000  # Prometheus' limit of points per series in a range query
# The seed's history keys and the bridge's catalogue metrics they come from.
HISTORY = {
    "cpu_percent": "host_cpu",
    "memory_percent": "host_memory",
    "disk_percent": "host_disk",
    "cpu_temp": "host_temperature",
}


class _Bridge(ApiClient):
    def get(self, path: str, params: Mapping[str, str]) -> Any:
        try:
            response = self.session.get(
                self.base_url + path, params=dict(params), headers=self.headers, timeout=self.timeout_s
            )
        except requests.RequestException as exc:  # urllib3's, after its retries, come wrapped as these
            raise ApiError(f"GET {path}: {exc.__class__.__name__}: {exc}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = response.text
        if response.status_code >= 400:
            detail = answer.get("detail", answer) if isinstance(answer, dict) else answer
            raise ApiError(
                f"GET {path}: HTTP {response.status_code}: {detail}",
                status=response.status_code,
                detail=detail,
            )
        return answer


def _number(value: Any) -> str:
    """Prometheus writes an alert's value as Go formats floats (`1e+00`); shown as the seed showed them."""
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)


class SystemMonitor:
    """The seed's system monitor, reading what the bundle collects."""

    def __init__(self, config: Mapping[str, Any], *, thermal_zone: Path = THERMAL_ZONE) -> None:
        self.config = config
        section = config["monitoring"]
        self.metrics_path = section["metrics_path"]
        self.log_interval = section["log_interval"]
        self.alert_thresholds = section["alert_thresholds"]
        self.instance = section.get("instance") or f"{socket.gethostname()}:{EXPORTER_PORT}"
        self.thermal_zone = thermal_zone
        self.logger = logging.getLogger("AMSLPR.system_monitor")
        key = section.get("api_key")
        if not key and section.get("api_key_file"):
            key = Path(section["api_key_file"]).read_text().strip()
        self.bridge = _Bridge(
            section.get("bridge_url") or DEFAULT_BRIDGE_URL,
            {"x-api-key": key} if key else {},
            timeout_s=float(section.get("timeout_seconds", 5)),
        )
        if section["enabled"]:
            self.start_monitoring()

    def get_system_stats(self) -> dict[str, Any]:
        """The seed's keys: percentages as floats, bytes and seconds as ints, `cpu_temp` in °C (0.0 when
        the board has no thermal zone), `timestamp` local ISO 8601."""
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage("/")
        net_io = psutil.net_io_counters()
        return {
            "timestamp": datetime.datetime.now().isoformat(),  # local and naive, as the seed wrote it
            "cpu_percent": float(psutil.cpu_percent(interval=1)),
            "memory_percent": float(memory.percent),
            "memory_used": int(memory.used),
            "memory_total": int(memory.total),
            "disk_percent": float(disk.percent),
            "disk_used": int(disk.used),
            "disk_total": int(disk.total),
            "uptime": int(time.time() - psutil.boot_time()),
            "network_sent": int(net_io.bytes_sent),
            "network_received": int(net_io.bytes_recv),
            "cpu_temp": self._cpu_temp(),
        }

    def _cpu_temp(self) -> float:
        try:
            return float(self.thermal_zone.read_text()) / 1000.0
        except (OSError, ValueError):
            return 0.0

    def get_historical_data(self, days: float = 1) -> list[dict[str, Any]]:
        """One dict a step (the config's `log_interval`, coarser when `days` needs it), oldest first:
        `timestamp` (local ISO 8601) and the seed's `cpu_percent`, `memory_percent`, `disk_percent` (of
        `/`, else the fullest filesystem) and `cpu_temp`; a value Prometheus has none of is None."""
        end = time.time()
        start = end - days * 86400
        step = max(int(self.log_interval), math.ceil((end - start) / (MAX_POINTS - 1)))
        rows: dict[float, dict[str, Any]] = {}
        for key, metric in HISTORY.items():
            for moment, value in self._series(metric, start, end, step).items():
                rows.setdefault(moment, dict.fromkeys(HISTORY))[key] = value
        return [
            {"timestamp": datetime.datetime.fromtimestamp(moment).astimezone().isoformat(), **values}
            for moment, values in sorted(rows.items())
        ]

    def _series(self, metric: str, start: float, end: float, step: int) -> dict[float, float]:
        answer = self.bridge.get(
            f"/api/monitoring/metrics/history/{metric}",
            {"host": self.instance, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step}s"},
        )
        series = answer["series"]
        root = [item for item in series if item["labels"].get("mountpoint") == "/"]
        values: dict[float, float] = {}
        for item in root or series:  # several filesystems without `/`: the fullest at each step
            for moment, value in item["values"]:
                if value is not None:
                    values[moment] = max(value, values.get(moment, -math.inf))
        return values

    def check_alerts(self, stats: Mapping[str, Any] | None = None) -> list[str]:
        """The host's firing alerts, one line each (`HostHighCpu (warning): 93.5`), as the seed listed
        them; `stats` is accepted for the seed's calls and not needed: Prometheus evaluates the rules."""
        views = self.bridge.get("/api/alerts", {"state": "firing"})["alerts"]
        found = []
        for view in views:
            for alert in view.get("alerts") or []:
                if alert.get("state") == "firing" and alert["labels"].get("instance") == self.instance:
                    severity = alert["labels"].get("severity") or view["labels"].get("severity") or "none"
                    found.append(f"{view['name']} ({severity}): {_number(alert.get('value'))}")
        if found:
            self.send_alerts(found)
        return found

    def send_alerts(self, alerts: list[str]) -> None:
        """Alertmanager notifies; the seed's hook only logs them here."""
        for line in alerts:
            self.logger.warning("firing: %s", line)

    def log_metrics(self) -> dict[str, Any]:
        """The seed's periodic call: the host exporter records the metrics now; the stats and alerts are
        still read, as the seed returned them."""
        stats = self.get_system_stats()
        self.check_alerts(stats)
        return stats

    def start_monitoring(self) -> None:
        """Nothing to start: the host exporter collects. Kept so the seed's callers run unchanged."""
        self.logger.info(
            "System monitoring: collected by the host exporter, read from %s", self.bridge.base_url
        )

    def stop_monitoring(self) -> None:
        return None
