"""Series of a climate-API service: `job="service"`, grouped by `service`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pushgateway_bridge.domain.catalogue.series import Doc, Labels, Samples, Series, gauge, info, status
from pushgateway_bridge.domain.entities import SERVICE, State
from pushgateway_bridge.domain.models import MetricType, ServiceStatus, Severity

STATUSES = tuple(s.value for s in ServiceStatus)
METRIC_TYPES = tuple(t.value for t in MetricType)
SEVERITIES = tuple(s.value for s in Severity)
_SERVICES = "`POST /services/`"


def _reported(field: str) -> Samples:
    """The last reported value (or its time) per metric type the service has reported."""

    def samples(state: State) -> Iterable[tuple[Labels, Any]]:
        reported = state.get("reported") or {}
        return [({"metric_type": t}, reported[t][field]) for t in METRIC_TYPES if t in reported]

    return samples


def _alerts(state: State) -> Iterable[tuple[Labels, Any]]:
    alerts = state.get("alerts") or {}
    return [({"severity": severity}, alerts.get(severity, 0)) for severity in SEVERITIES]


SERIES = (
    info(
        SERVICE,
        "service_info",
        "A service reporting to the climate API; always 1.",
        ("endpoint",),
        Doc('the service\'s reported endpoint ("" until given)', _SERVICES),
    ),
    status(
        SERVICE,
        "service_status",
        "Last reported status of a service, one-hot.",
        STATUSES,
        Doc("last reported status (unknown until reported)", _SERVICES),
        default=ServiceStatus.unknown.value,
    ),
    gauge(
        SERVICE,
        "service_last_report_timestamp_seconds",
        "last_report",
        "Last status or metric report of the service.",
        Doc("last status or metric report", f"{_SERVICES}, `POST /metrics/`"),
    ),
    gauge(
        SERVICE,
        "service_status_change_timestamp_seconds",
        "status_change",
        "When the service's status last changed.",
        Doc("last change of status", _SERVICES),
    ),
    Series(
        SERVICE,
        "service_reported_value",
        "gauge",
        "Last value the service reported for a metric type.",
        _reported("value"),
        labels=("metric_type",),
        label_values={"metric_type": METRIC_TYPES},
        doc=Doc("last value reported (percent in the seed's clients)", "`POST /metrics/`"),
    ),
    Series(
        SERVICE,
        "service_reported_value_timestamp_seconds",
        "gauge",
        "When that value was reported.",
        _reported("at"),
        labels=("metric_type",),
        doc=Doc("when that value was reported", "`POST /metrics/`"),
    ),
    Series(
        SERVICE,
        "service_alerts_total",
        "counter",
        "Alerts the service posted, by severity.",
        _alerts,
        labels=("severity",),
        label_values={"severity": SEVERITIES},
        doc=Doc("alerts posted by the service", "`POST /alerts/`"),
    ),
)
