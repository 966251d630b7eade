"""The metrics an API alert may watch, declared once: the PromQL each one compares with the threshold,
the words that name it in an alert's name or description, and what docs/ and the 422 say about it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pushgateway_bridge.alerts.escaping import promql_string
from pushgateway_bridge.domain.models.climate import MetricType


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    unit: str
    words: tuple[str, ...]  # lowercase words that name this metric (inference)
    # The label whose value `service` must equal (service, scheduler_id, pipeline_type); None for host
    # metrics, where `service` only labels the alert.
    selects_by: str | None
    build: Callable[[str], str]  # service -> PromQL of the value compared with the threshold

    @property
    def per_service(self) -> bool:
        return self.selects_by is not None

    def expr(self, service: str) -> str:
        return self.build(service)


def _host(recorded: str) -> Callable[[str], str]:
    # The recording rules of rules/host.rules.yml (make rules), so API alerts see what dashboards see.
    return lambda _service: recorded


def _reported(metric_type: MetricType) -> Callable[[str], str]:
    def build(service: str) -> str:
        return (
            f"service_reported_value{{service={promql_string(service)},"
            f" metric_type={promql_string(metric_type.value)}}}"
        )

    return build


def _selected(series: str, label: str, *, scale: int = 1, age: bool = False) -> Callable[[str], str]:
    def build(value: str) -> str:
        selected = f"{series}{{{label}={promql_string(value)}}}"
        if age:
            return f"time() - {selected}"
        return f"{selected} * {scale}" if scale != 1 else selected

    return build


METRICS: tuple[Metric, ...] = (
    Metric(
        "host_cpu",
        "CPU busy on each host (host-exporter), instance:node_cpu_utilisation:rate5m",
        "percent",
        ("cpu", "processor"),
        None,
        _host("instance:node_cpu_utilisation:rate5m * 100"),
    ),
    Metric(
        "host_memory",
        "memory used on each host, instance:node_memory_utilisation:ratio",
        "percent",
        ("memory", "ram", "mem"),
        None,
        _host("instance:node_memory_utilisation:ratio * 100"),
    ),
    Metric(
        "host_disk",
        "space used on each mounted filesystem, instance_mountpoint:node_filesystem_utilisation:ratio",
        "percent",
        ("disk", "filesystem", "storage"),
        None,
        _host("instance_mountpoint:node_filesystem_utilisation:ratio * 100"),
    ),
    Metric(
        "host_temperature",
        "hottest sensor of each host, instance:node_cpu_temperature_celsius:max",
        "celsius",
        ("temperature", "temp", "thermal"),
        None,
        _host("instance:node_cpu_temperature_celsius:max"),
    ),
    *(
        Metric(
            f"service_{kind.value}",
            f"the {kind.value} value the service last reported to the climate API (POST /metrics/),"
            f' service_reported_value{{service="<service>", metric_type="{kind.value}"}}',
            "percent",
            ("network",) if kind is MetricType.network else (),
            "service",
            _reported(kind),
        )
        for kind in MetricType
    ),
    # The scheduler and pipeline APIs' series: `service` is the scheduler id or the pipeline type.
    Metric(
        "scheduler_consecutive_failures",
        "failed runs in a row of the scheduler, scheduler_consecutive_failures",
        "runs",
        (),
        "scheduler_id",
        _selected("scheduler_consecutive_failures", "scheduler_id"),
    ),
    Metric(
        "scheduler_run_duration",
        "how long the scheduler's last run took, scheduler_last_run_duration_seconds",
        "seconds",
        (),
        "scheduler_id",
        _selected("scheduler_last_run_duration_seconds", "scheduler_id"),
    ),
    Metric(
        "scheduler_heartbeat_age",
        "seconds since the scheduler's last heartbeat, scheduler_last_heartbeat_timestamp_seconds",
        "seconds",
        (),
        "scheduler_id",
        _selected("scheduler_last_heartbeat_timestamp_seconds", "scheduler_id", age=True),
    ),
    Metric(
        "pipeline_progress",
        "progress of the pipeline's run, pipeline_progress_ratio",
        "percent",
        (),
        "pipeline_type",
        _selected("pipeline_progress_ratio", "pipeline_type", scale=100),
    ),
    Metric(
        "pipeline_progress_age",
        "seconds since the pipeline's progress last changed, pipeline_last_progress_change_timestamp_seconds",
        "seconds",
        (),
        "pipeline_type",
        _selected("pipeline_last_progress_change_timestamp_seconds", "pipeline_type", age=True),
    ),
)
BY_NAME = {metric.name: metric for metric in METRICS}
METRIC_NAMES = tuple(BY_NAME)
_WORD = re.compile(r"[a-z0-9]+")


def infer(*texts: str) -> Metric | None:
    """The one metric the words of `texts` name, or None when they name none or several."""
    words = {word for text in texts for word in _WORD.findall(text.lower())}
    found = [metric for metric in METRICS if words.intersection(metric.words)]
    return found[0] if len(found) == 1 else None


def choices() -> str:
    """The catalogue as the 422 lists it."""
    return "; ".join(f"{metric.name} ({metric.description}, {metric.unit})" for metric in METRICS)
