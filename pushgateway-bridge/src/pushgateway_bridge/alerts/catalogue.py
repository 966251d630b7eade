"""The metrics an API alert may watch, declared once: the PromQL each one compares with the threshold,
the words that name it in an alert's name or description, and what docs/ and the 422 say about it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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
    # The label matchers of the watched series (inside the braces, "" for none) -> PromQL of the value.
    build: Callable[[str], str]

    @property
    def per_service(self) -> bool:
        return self.selects_by is not None

    def expr(self, service: str) -> str:
        """The value an alert on `service` compares with its threshold."""
        return self.build(f"{self.selects_by}={promql_string(service)}" if self.selects_by else "")

    def select(self, matchers: Sequence[str]) -> str:
        """The value of every series the (already escaped) `matchers` select; the monitoring API's read."""
        return self.build(", ".join(matchers))


def _selector(series: str, matchers: str) -> str:
    return f"{series}{{{matchers}}}" if matchers else series


def _reported(metric_type: MetricType) -> Callable[[str], str]:
    kind = f"metric_type={promql_string(metric_type.value)}"
    return lambda matchers: f"service_reported_value{{{', '.join(filter(None, (matchers, kind)))}}}"


def _selected(series: str, *, scale: int = 1, age: bool = False) -> Callable[[str], str]:
    def build(matchers: str) -> str:
        selected = _selector(series, matchers)
        if age:
            return f"time() - {selected}"
        return f"{selected} * {scale}" if scale != 1 else selected

    return build


METRICS: tuple[Metric, ...] = (
    # The recording rules of rules/host.rules.yml (make rules), so API alerts see what dashboards see.
    Metric(
        "host_cpu",
        "CPU busy on each host (host-exporter), instance:node_cpu_utilisation:rate5m",
        "percent",
        ("cpu", "processor"),
        None,
        _selected("instance:node_cpu_utilisation:rate5m", scale=100),
    ),
    Metric(
        "host_memory",
        "memory used on each host, instance:node_memory_utilisation:ratio",
        "percent",
        ("memory", "ram", "mem"),
        None,
        _selected("instance:node_memory_utilisation:ratio", scale=100),
    ),
    Metric(
        "host_disk",
        "space used on each mounted filesystem, instance_mountpoint:node_filesystem_utilisation:ratio",
        "percent",
        ("disk", "filesystem", "storage"),
        None,
        _selected("instance_mountpoint:node_filesystem_utilisation:ratio", scale=100),
    ),
    Metric(
        "host_temperature",
        "hottest sensor of each host, instance:node_cpu_temperature_celsius:max",
        "celsius",
        ("temperature", "temp", "thermal"),
        None,
        _selected("instance:node_cpu_temperature_celsius:max"),
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
        _selected("scheduler_consecutive_failures"),
    ),
    Metric(
        "scheduler_run_duration",
        "how long the scheduler's last run took, scheduler_last_run_duration_seconds",
        "seconds",
        (),
        "scheduler_id",
        _selected("scheduler_last_run_duration_seconds"),
    ),
    Metric(
        "scheduler_heartbeat_age",
        "seconds since the scheduler's last heartbeat, scheduler_last_heartbeat_timestamp_seconds",
        "seconds",
        (),
        "scheduler_id",
        _selected("scheduler_last_heartbeat_timestamp_seconds", age=True),
    ),
    Metric(
        "pipeline_progress",
        "progress of the pipeline's run, pipeline_progress_ratio",
        "percent",
        (),
        "pipeline_type",
        _selected("pipeline_progress_ratio", scale=100),
    ),
    Metric(
        "pipeline_progress_age",
        "seconds since the pipeline's progress last changed, pipeline_last_progress_change_timestamp_seconds",
        "seconds",
        (),
        "pipeline_type",
        _selected("pipeline_last_progress_change_timestamp_seconds", age=True),
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
