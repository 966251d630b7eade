"""The PromQL of /api/monitoring/metrics* and /infrastructure*, and their answers.

Every selector carries `service=~"<the key's readable services>"` (the catalogue's per-service metrics: the
label they select by). Host and container series have no `service` label, and a regex matches a missing
label as the empty string: a key whose globs match "" (`*`, or no restriction) sees them, a key limited to
`team-a-*` sees none. Values come from the recording rules of rules/host.rules.yml (the ones the alerts and
dashboards read) and the climate services' series (docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pushgateway_bridge.alerts.catalogue import BY_NAME, Metric
from pushgateway_bridge.queries.prometheus import PrometheusClient
from pushgateway_bridge.queries.promql import (
    METRIC_NAME,
    Parts,
    equal,
    keyed,
    matching,
    number,
    one_of,
    parts,
    rfc3339,
    selector,
    tagged,
    vector,
)

MAX_POINTS = 11_000  # Prometheus refuses a range query of more points per series
RATE_WINDOW = "5m"  # as the recording rules' rate5m
RESTARTS_WINDOW = "1h"
HOST = ("job", "instance")
CONTAINER = ("instance", "name")
# The Raspberry Pi firmware flags of the host-exporter (exporter/README.md), as `throttling` keys.
RPI_FLAGS = ("under_voltage", "arm_frequency_capped", "throttled", "soft_temp_limit")
SUMMARY = (
    "up",
    "cpu_percent",
    "memory_percent",
    "disk_percent",
    "temperature_celsius",
    "network_receive_bytes_per_second",
    "network_transmit_bytes_per_second",
)
INFRASTRUCTURE = (
    "up",
    "cpu_percent",
    "memory_percent",
    "load1_per_cpu",
    "temperature_celsius",
    "uptime_seconds",
)
# What /infrastructure asks of each host beyond the summary: host matchers -> PromQL.
HOST_DETAILS: dict[str, Callable[[list[str]], str]] = {
    "filesystems": BY_NAME["host_disk"].select,
    "throttling": lambda hosts: f'{{__name__=~"node_rpi_({"|".join(RPI_FLAGS)})", {", ".join(hosts)}}}',
    "uptime_seconds": lambda hosts: f"time() - {selector('node_boot_time_seconds', hosts)}",
    "load1_per_cpu": lambda hosts: selector("instance:node_load1_per_cpu:ratio", hosts),
}
Body = dict[str, Any]


class TooManyPoints(ValueError):
    """(end - start) / step exceeds Prometheus' 11,000 points per series."""


def range_points(start: datetime, end: datetime, step: float) -> float:
    """Prometheus' own measure of a range query's size, which it refuses above MAX_POINTS."""
    return (end - start).total_seconds() / step


@dataclass(frozen=True)
class MonitoringQueries:
    client: PrometheusClient
    readable: str  # the key's readable_services_regex()
    host_jobs: Sequence[str]  # monitoring.yml's hosts.exporter_jobs

    def _scope(self, label: str = "service") -> str:
        return matching(label, self.readable)

    def _host_matchers(self, host: str | None = None) -> list[str]:
        matchers = [matching("job", one_of(self.host_jobs)), self._scope()]
        return [*matchers, equal("instance", host)] if host is not None else matchers

    def _at(self, expr: str, time: datetime) -> dict[str, Any]:
        return self.client.query(expr, time)

    # /api/monitoring/metrics/{metric_name} and /history: one catalogue metric or one Prometheus name.
    def metric_expr(self, name: str, host: str | None, service: str | None) -> str:
        metric: Metric | None = BY_NAME.get(name)
        label = (metric.selects_by if metric else None) or "service"
        matchers = [self._scope(label)]
        if host is not None:
            matchers.append(equal("instance", host))
        if service is not None:
            matchers.append(equal(label, service))
        if metric is not None:
            return metric.select(matchers)
        if not METRIC_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is neither a catalogue metric nor a Prometheus metric name")
        return selector(name, matchers)

    def current(self, name: str, host: str | None, service: str | None, time: datetime) -> Body:
        expr = self.metric_expr(name, host, service)
        series = [{"labels": labels, "value": value} for labels, value in vector(self._at(expr, time))]
        return {"metric": name, "query": expr, "time": rfc3339(time), "series": series}

    def history(  # noqa: PLR0917 (the range query's parameters, as the route reads them)
        self, name: str, host: str | None, service: str | None, start: datetime, end: datetime, step: float
    ) -> Body:
        if range_points(start, end, step) > MAX_POINTS:
            raise TooManyPoints(
                f"{range_points(start, end, step):.0f} points per series from start to end at this step;"
                f" Prometheus allows at most {MAX_POINTS}: raise step or shorten the range"
            )
        expr = self.metric_expr(name, host, service)
        data = self.client.query_range(expr, start, end, step)
        series = [
            {
                "labels": dict(item["metric"]),
                "values": [[float(moment), number(value)] for moment, value in item["values"]],
            }
            for item in data["result"]
        ]
        return {
            "metric": name,
            "query": expr,
            "start": rfc3339(start),
            "end": rfc3339(end),
            "step": step,
            "series": series,
        }

    # /api/monitoring/metrics and /infrastructure: every host, from one query.
    def _hosts(self, time: datetime, *, details: bool) -> tuple[list[tuple[str, ...]], Parts]:
        hosts = self._host_matchers()
        found = parts(
            self._at(
                tagged(
                    {
                        "up": selector("up", hosts),
                        "cpu_percent": BY_NAME["host_cpu"].select(hosts),
                        "memory_percent": BY_NAME["host_memory"].select(hosts),
                        # The fullest filesystem of the host; /infrastructure lists each.
                        "disk_percent": f"max by (job, instance) ({BY_NAME['host_disk'].select(hosts)})",
                        "temperature_celsius": BY_NAME["host_temperature"].select(hosts),
                        "network_receive_bytes_per_second": selector(
                            "instance:node_network_receive_bytes_excluding_lo:rate5m", hosts
                        ),
                        "network_transmit_bytes_per_second": selector(
                            "instance:node_network_transmit_bytes_excluding_lo:rate5m", hosts
                        ),
                        **({key: build(hosts) for key, build in HOST_DETAILS.items()} if details else {}),
                    }
                ),
                time,
            )
        )
        return sorted(keyed(found.get("up", []), *HOST)), found

    def summary(self, time: datetime) -> Body:
        keys, found = self._hosts(time, details=False)
        values = {key: keyed(found.get(key, []), *HOST) for key in SUMMARY}
        hosts = [
            {"job": key[0], "instance": key[1], **{name: values[name].get(key) for name in SUMMARY}}
            for key in keys
        ]
        for host in hosts:
            host["up"] = host["up"] == 1
        return {"time": rfc3339(time), "hosts": hosts, "services": self._services(time)}

    def _services(self, time: datetime) -> list[Body]:
        scope = [self._scope()]
        found = parts(
            self._at(
                tagged(
                    {
                        "status": f"{selector('service_status', scope)} == 1",
                        "reported": selector("service_last_report_timestamp_seconds", scope),
                    }
                ),
                time,
            )
        )
        status = {labels.get("service", ""): labels.get("status") for labels, _ in found.get("status", [])}
        reports = {labels.get("service", ""): value for labels, value in found.get("reported", [])}
        return [
            {
                "service": name,
                "status": status.get(name),
                "last_report": _moment(reports.get(name), time),
                "report_age_seconds": _age(reports.get(name), time),
            }
            for name in sorted(set(status) | set(reports))
        ]

    # /api/monitoring/infrastructure: per host, each filesystem, throttling and uptime.
    def infrastructure(self, time: datetime) -> Body:
        keys, found = self._hosts(time, details=True)
        values = {key: keyed(found.get(key, []), *HOST) for key in INFRASTRUCTURE}
        filesystems: dict[tuple[str, ...], list[Body]] = {}
        for labels, value in found.get("filesystems", []):
            filesystems.setdefault((labels["job"], labels["instance"]), []).append(
                {key: labels.get(key) for key in ("mountpoint", "device", "fstype")} | {"used_percent": value}
            )
        throttling: dict[tuple[str, ...], Body] = {}
        for labels, value in found.get("throttling", []):
            flag = labels["__name__"].removeprefix("node_rpi_")
            throttling.setdefault((labels["job"], labels["instance"]), {})[flag] = value == 1
        hosts = []
        for key in keys:
            host: Body = {"job": key[0], "instance": key[1]}
            host |= {name: values[name].get(key) for name in INFRASTRUCTURE}
            host["up"] = host["up"] == 1
            host["filesystems"] = sorted(filesystems.get(key, []), key=lambda fs: str(fs["mountpoint"]))
            host["throttling"] = throttling.get(key)  # only a Raspberry Pi reports its firmware flags
            hosts.append(host)
        return {"time": rfc3339(time), "hosts": hosts}

    # /api/monitoring/infrastructure/containers: cAdvisor's series of the containers (`name` set).
    def containers(self, time: datetime) -> Body:
        scope = ['name!=""', self._scope()]
        by = "sum by (instance, name)"

        def rate(metric: str, window: str = RATE_WINDOW, function: str = "rate") -> str:
            return f"{by} ({function}({selector(metric, scope)}[{window}]))"

        exprs = {
            "cpu_cores": rate("container_cpu_usage_seconds_total"),
            "memory_working_set_bytes": f"{by} ({selector('container_memory_working_set_bytes', scope)})",
            "network_receive_bytes_per_second": rate("container_network_receive_bytes_total"),
            "network_transmit_bytes_per_second": rate("container_network_transmit_bytes_total"),
            # A restart starts the container's cgroup anew: its start time changes.
            "restarts_last_hour": rate("container_start_time_seconds", RESTARTS_WINDOW, "changes"),
        }
        started = f"max by (instance, name, image) ({selector('container_start_time_seconds', scope)})"
        found = parts(self._at(tagged({**exprs, "started": started}), time))
        values = {key: keyed(found.get(key, []), *CONTAINER) for key in exprs}
        images: dict[tuple[str, ...], str | None] = {
            (labels.get("instance", ""), labels["name"]): labels.get("image")
            for labels, _ in found.get("started", [])
        }
        starts = keyed(found.get("started", []), *CONTAINER)
        names = sorted(set(images) | {key for part in values.values() for key in part})
        containers = [
            {
                "name": key[1],
                "instance": key[0],
                "image": images.get(key),
                **{name: part.get(key) for name, part in values.items()},
                "started": _moment(starts.get(key), time),
            }
            for key in names
        ]
        return {"time": rfc3339(time), "containers": containers}


def _age(seconds: float | None, time: datetime) -> float | None:
    return round(time.timestamp() - seconds, 3) if seconds is not None else None


def _moment(seconds: float | None, like: datetime) -> str | None:
    return rfc3339(datetime.fromtimestamp(seconds, like.tzinfo)) if seconds is not None else None


def default_range(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """`end` defaults to now, `start` to the hour before `end`."""
    end = end if end is not None else now
    return (start if start is not None else end - timedelta(hours=1)), end
