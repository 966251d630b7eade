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
    per_service: bool  # True: `service` selects the series; False: `service` only labels the alert
    build: Callable[[str], str]  # service -> PromQL of the value compared with the threshold

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


METRICS: tuple[Metric, ...] = (
    Metric(
        "host_cpu",
        "CPU busy on each host (host-exporter), instance:node_cpu_utilisation:rate5m",
        "percent",
        ("cpu", "processor"),
        False,
        _host("instance:node_cpu_utilisation:rate5m * 100"),
    ),
    Metric(
        "host_memory",
        "memory used on each host, instance:node_memory_utilisation:ratio",
        "percent",
        ("memory", "ram", "mem"),
        False,
        _host("instance:node_memory_utilisation:ratio * 100"),
    ),
    Metric(
        "host_disk",
        "space used on each mounted filesystem, instance_mountpoint:node_filesystem_utilisation:ratio",
        "percent",
        ("disk", "filesystem", "storage"),
        False,
        _host("instance_mountpoint:node_filesystem_utilisation:ratio * 100"),
    ),
    Metric(
        "host_temperature",
        "hottest sensor of each host, instance:node_cpu_temperature_celsius:max",
        "celsius",
        ("temperature", "temp", "thermal"),
        False,
        _host("instance:node_cpu_temperature_celsius:max"),
    ),
    *(
        Metric(
            f"service_{kind.value}",
            f"the {kind.value} value the service last reported to the climate API (POST /metrics/),"
            f' service_reported_value{{service="<service>", metric_type="{kind.value}"}}',
            "percent",
            ("network",) if kind is MetricType.network else (),
            True,
            _reported(kind),
        )
        for kind in MetricType
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
