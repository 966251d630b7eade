"""Series of a climate-API service: `job="service"`, grouped by `service`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pushgateway_bridge.domain.catalogue.series import Doc, Sample, Samples, gauge, info, series, status
from pushgateway_bridge.domain.kinds import SERVICE, Reported, ServiceState
from pushgateway_bridge.domain.models.climate import MetricType, ServiceStatus, Severity

STATUSES = tuple(s.value for s in ServiceStatus)
METRIC_TYPES = tuple(t.value for t in MetricType)
SEVERITIES = tuple(s.value for s in Severity)
_SERVICES = "`POST /services/`"


def _reported(read: Callable[[Reported], float]) -> Samples[ServiceState]:
    """The last reported value (or its time) per metric type the service has reported."""

    def samples(state: ServiceState) -> Iterable[Sample]:
        reported = state.get("reported") or {}
        return [({"metric_type": t}, read(reported[t])) for t in METRIC_TYPES if t in reported]

    return samples


def _alerts(state: ServiceState) -> Iterable[Sample]:
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
        lambda s: s.get("last_report"),
        "Last status or metric report of the service.",
        Doc("last status or metric report", f"{_SERVICES}, `POST /metrics/`"),
    ),
    gauge(
        SERVICE,
        "service_status_change_timestamp_seconds",
        lambda s: s.get("status_change"),
        "When the service's status last changed.",
        Doc("last change of status", _SERVICES),
    ),
    series(
        SERVICE,
        "service_reported_value",
        "gauge",
        "Last value the service reported for a metric type.",
        _reported(lambda reported: reported["value"]),
        Doc("last value reported (percent in the seed's clients)", "`POST /metrics/`"),
        labels=("metric_type",),
        label_values={"metric_type": METRIC_TYPES},
    ),
    series(
        SERVICE,
        "service_reported_value_timestamp_seconds",
        "gauge",
        "When that value was reported.",
        _reported(lambda reported: reported["at"]),
        Doc("when that value was reported", "`POST /metrics/`"),
        labels=("metric_type",),
    ),
    series(
        SERVICE,
        "service_alerts_total",
        "counter",
        "Alerts the service posted, by severity.",
        _alerts,
        Doc("alerts posted by the service", "`POST /alerts/`"),
        labels=("severity",),
        label_values={"severity": SEVERITIES},
    ),
)
