"""The PromQL of /api/monitoring/performance*: request rate, error ratio and latency quantiles from Tempo's
span metrics, callers and callees from its service graphs, and the endpoint probes' blackbox series.

Names are the metrics-generator's defaults (Tempo 2.x) and the probes' (job `endpoints`, labels `service`
and `instance` = the endpoint URL). A service's own work is its server and consumer spans, as Grafana's
service views count it. A service-graph edge carries `client` and `server` instead of `service`: it is
shown only when the key may read both ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pushgateway_bridge.queries.prometheus import PrometheusClient
from pushgateway_bridge.queries.promql import equal, keyed, matching, parts, rfc3339, selector, tagged

WINDOW = "5m"  # rates and quantiles over the last five minutes, as the host recording rules
AVAILABILITY_WINDOW = "1h"
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
SERVED = matching("span_kind", "SPAN_KIND_SERVER|SPAN_KIND_CONSUMER")
ERROR = equal("status_code", "STATUS_CODE_ERROR")
Body = dict[str, Any]


@dataclass(frozen=True)
class PerformanceQueries:
    client: PrometheusClient
    readable: str  # the key's readable_services_regex()

    def _at(self, expr: str, time: datetime) -> dict[str, Any]:
        return self.client.query(expr, time)

    def _rate(self, metric: str, matchers: list[str], by: str) -> str:
        return f"sum by ({by}) (rate({selector(metric, matchers)}[{WINDOW}]))"

    def _spans(self, only: str | None, time: datetime) -> dict[str, dict[str, float | None]]:
        spans = [SERVED, matching("service", self.readable)]
        if only is not None:
            spans.append(equal("service", only))
        calls = self._rate("traces_spanmetrics_calls_total", spans, "service")
        errors = self._rate("traces_spanmetrics_calls_total", [*spans, ERROR], "service")
        exprs = {
            "request_rate": calls,
            "error_rate": f"({errors} or {calls} * 0)",  # no error series yet: none failed
            "error_ratio": f"({errors} or {calls} * 0) / {calls}",
        }
        buckets = self._rate("traces_spanmetrics_latency_bucket", spans, "service, le")
        for name, quantile in QUANTILES.items():
            exprs[name] = f"histogram_quantile({quantile}, {buckets})"
        found: dict[str, dict[str, float | None]] = {}
        for key, samples in parts(self._at(tagged(exprs), time)).items():
            for (service,), value in keyed(samples, "service").items():
                found.setdefault(service, {})[key] = value
        return found

    def _edges(self, time: datetime) -> list[Body]:
        ends = [matching("client", self.readable), matching("server", self.readable)]
        found = parts(
            self._at(
                tagged(
                    {
                        "requests": self._rate("traces_service_graph_request_total", ends, "client, server"),
                        "failed": self._rate(
                            "traces_service_graph_request_failed_total", ends, "client, server"
                        ),
                    }
                ),
                time,
            )
        )
        requests = keyed(found.get("requests", []), "client", "server")
        failed = keyed(found.get("failed", []), "client", "server")
        return [
            {
                "client": client,
                "server": server,
                "request_rate": rate,
                "error_rate": failed.get((client, server), 0.0 if rate is not None else None),
            }
            for (client, server), rate in sorted(requests.items())
        ]

    def _probes(self, only: str | None, time: datetime) -> dict[str, list[Body]]:
        probes = [equal("job", "endpoints"), matching("service", self.readable)]
        if only is not None:
            probes.append(equal("service", only))
        exprs = {
            "up": selector("probe_success", probes),
            "availability": f"avg_over_time({selector('probe_success', probes)}[{AVAILABILITY_WINDOW}])",
            "duration": selector("probe_duration_seconds", probes),
            "status": selector("probe_http_status_code", probes),
        }
        found = {
            key: keyed(samples, "service", "instance")
            for key, samples in parts(self._at(tagged(exprs), time)).items()
        }
        success, availability = found.get("up", {}), found.get("availability", {})
        endpoints: dict[str, list[Body]] = {}
        for key in sorted(set(success) | set(availability)):
            code = found.get("status", {}).get(key)
            endpoints.setdefault(key[0], []).append(
                {
                    "url": key[1],
                    "up": success[key] == 1 if key in success else None,
                    "availability_ratio": availability.get(key),
                    "response_time_seconds": found.get("duration", {}).get(key),
                    "http_status_code": int(code) if code else None,
                }
            )
        return endpoints

    def _services(self, time: datetime, only: str | None, edges: list[Body]) -> list[Body]:
        spans = self._spans(only, time)
        probes = self._probes(only, time)
        names = set(spans) | set(probes) | {edge[end] for edge in edges for end in ("client", "server")}
        if only is not None:
            names = {only}
        return [_service(name, spans.get(name, {}), edges, probes.get(name, [])) for name in sorted(names)]

    def overview(self, time: datetime) -> Body:
        edges = self._edges(time)
        services = self._services(time, None, edges)
        return {"time": rfc3339(time), "window": WINDOW, "services": services, "service_map": edges}

    def one(self, service: str, time: datetime) -> Body:
        (found,) = self._services(time, service, self._edges(time))
        return {"time": rfc3339(time), "window": WINDOW, **found}


def _service(name: str, spans: dict[str, float | None], edges: list[Body], endpoints: list[Body]) -> Body:
    def neighbours(end: str, other: str) -> list[Body]:
        return [
            {"service": edge[other], "request_rate": edge["request_rate"], "error_rate": edge["error_rate"]}
            for edge in edges
            if edge[end] == name
        ]

    return {
        "service": name,
        "request_rate": spans.get("request_rate"),
        "error_rate": spans.get("error_rate"),
        "error_ratio": spans.get("error_ratio"),
        "latency_seconds": {key: spans.get(key) for key in QUANTILES},
        "upstream": neighbours("server", "client"),  # who calls it
        "downstream": neighbours("client", "server"),  # whom it calls
        "endpoints": endpoints,
    }
