"""The monitoring API's PromQL without a Prometheus: every selector of every answer carries the key's
services, catalogue metrics are scoped on the label they select by, and the 11,000-point rule's edge."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pushgateway_bridge.queries.monitoring import MAX_POINTS, MonitoringQueries, TooManyPoints
from pushgateway_bridge.queries.performance import PerformanceQueries
from pushgateway_bridge.queries.prometheus import PrometheusClient

TEAM_A = "team-a-.*"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
# A selector's braces; no test value here holds a brace inside a string.
BRACES = re.compile(r"\{([^{}]*)\}")


class Recorder(PrometheusClient):
    """Answers every query with nothing and keeps the PromQL."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9", 1)
        self.exprs: list[str] = []

    def query(self, expr: str, time: datetime | None = None) -> dict[str, Any]:
        self.exprs.append(expr)
        return {"resultType": "vector", "result": []}

    def query_range(self, expr: str, start: datetime, end: datetime, step: float) -> dict[str, Any]:
        self.exprs.append(expr)
        return {"resultType": "matrix", "result": []}


def test_every_selector_of_every_answer_carries_the_keys_services() -> None:
    client = Recorder()
    monitoring = MonitoringQueries(client, TEAM_A, ["node"])
    performance = PerformanceQueries(client, TEAM_A)
    monitoring.summary(NOW)
    monitoring.infrastructure(NOW)
    monitoring.containers(NOW)
    monitoring.current("host_cpu", "pi-1", None, NOW)
    monitoring.history("node_load1", None, "team-a-api", NOW - timedelta(hours=1), NOW, 60)
    performance.overview(NOW)
    performance.one("team-a-api", NOW)
    selectors = [match for expr in client.exprs for match in BRACES.findall(expr)]
    assert len(selectors) > 40
    for matchers in selectors:
        scoped = ('service=~"team-a-.*"' in matchers) or (
            'client=~"team-a-.*"' in matchers and 'server=~"team-a-.*"' in matchers
        )
        assert scoped, matchers


@pytest.mark.parametrize(
    ("name", "host", "service", "expected"),
    [
        (
            "host_memory",
            "pi-1:9100",
            None,
            'instance:node_memory_utilisation:ratio{service=~"team-a-.*", instance="pi-1:9100"} * 100',
        ),
        (
            "service_cpu",
            None,
            "team-a-api",
            'service_reported_value{service=~"team-a-.*", service="team-a-api", metric_type="cpu"}',
        ),
        (
            "scheduler_heartbeat_age",
            None,
            "team-a-nightly",
            'time() - scheduler_last_heartbeat_timestamp_seconds{scheduler_id=~"team-a-.*",'
            ' scheduler_id="team-a-nightly"}',
        ),
        ("pipeline_progress", None, None, 'pipeline_progress_ratio{pipeline_type=~"team-a-.*"} * 100'),
        ("node_load1", "pi-1:9100", None, 'node_load1{service=~"team-a-.*", instance="pi-1:9100"}'),
    ],
)
def test_a_metric_is_read_through_the_catalogue_or_as_a_name(
    name: str, host: str | None, service: str | None, expected: str
) -> None:
    assert MonitoringQueries(Recorder(), TEAM_A, ["node"]).metric_expr(name, host, service) == expected


def test_a_name_outside_the_grammar_is_never_run() -> None:
    client = Recorder()
    with pytest.raises(ValueError, match="Prometheus metric name"):
        MonitoringQueries(client, ".*", ["node"]).current("up or vector(1)", None, None, NOW)
    assert client.exprs == []


def test_at_most_11000_points_per_series_as_prometheus() -> None:
    client = Recorder()
    queries = MonitoringQueries(client, ".*", ["node"])
    queries.history("up", None, None, NOW - timedelta(minutes=MAX_POINTS), NOW, 60)
    with pytest.raises(TooManyPoints, match="11000"):
        queries.history("up", None, None, NOW - timedelta(minutes=MAX_POINTS + 1), NOW, 60)
    assert len(client.exprs) == 1
