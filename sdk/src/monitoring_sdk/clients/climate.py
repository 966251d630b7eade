"""The Climate System Monitor's API: service status, metrics, pipelines and alerts (Bearer key).

monitor = ClimateClient("http://bridge:8000", "example-service", api_key=key)
monitor.update_status("up", "http://example-service:8000")
monitor.send_metrics()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psutil

from monitoring_sdk.clients.base import ApiClient

SERVICE_STATUSES = ("up", "down", "unknown")
METRIC_TYPES = ("cpu", "memory", "disk", "network")
PIPELINE_TYPES = ("data_ingestion", "preprocessing", "training", "evaluation")
PIPELINE_STATUSES = ("running", "completed", "failed")
SEVERITIES = {"info": 1, "warning": 2, "critical": 3}


def _check(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


class ClimateClient(ApiClient):
    """One service's reports to `base_url` (the seed's `http://your-monitor-host:8000`)."""

    # Each alert counts and may notify someone; status, metric and pipeline reports set a value.
    not_idempotent = ("/alerts/",)

    def __init__(self, base_url: str, service_name: str, api_key: str | None = None, **options: Any) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        super().__init__(base_url, headers, **options)
        self.service_name = service_name

    def update_status(self, status: str = "up", endpoint: str | None = None) -> Any:
        body: dict[str, Any] = {
            "name": self.service_name,
            "status": _check(status, SERVICE_STATUSES, "status"),
        }
        if endpoint:
            body["endpoint"] = endpoint
        return self.request("POST", "/services/", body)

    def send_metric(self, metric_type: str, value: float) -> Any:
        body = {
            "service": self.service_name,
            "metric_type": _check(metric_type, METRIC_TYPES, "metric_type"),
            "value": float(value),
        }
        return self.request("POST", "/metrics/", body)

    def send_metrics(self, disk_path: str = "/") -> dict[str, float]:
        """This host's CPU, memory and disk use in percent, as the seed's example sends them."""
        values = {
            "cpu": float(psutil.cpu_percent(interval=0.1)),
            "memory": float(psutil.virtual_memory().percent),
            "disk": float(psutil.disk_usage(disk_path).percent),
        }
        for metric_type, value in values.items():
            self.send_metric(metric_type, value)
        return values

    def update_pipeline(
        self, pipeline_type: str, status: str, metadata: Mapping[str, Any] | None = None
    ) -> Any:
        body: dict[str, Any] = {
            "pipeline_type": _check(pipeline_type, PIPELINE_TYPES, "pipeline_type"),
            "status": _check(status, PIPELINE_STATUSES, "status"),
        }
        if metadata:
            body["metadata"] = dict(metadata)
        return self.request("POST", "/pipelines/", body)

    def send_alert(self, title: str, message: str, severity: int | str = 1) -> Any:
        """`severity` 1/2/3 or info/warning/critical."""
        number = SEVERITIES.get(severity, severity) if isinstance(severity, str) else severity
        if number not in (1, 2, 3):
            raise ValueError(f"severity must be 1, 2, 3 or info, warning, critical, not {severity!r}")
        body = {"title": title, "message": message, "severity": number, "service": self.service_name}
        return self.request("POST", "/alerts/", body)
