"""The bridge's own metrics (GET /metrics). Names are a contract: rules and dashboards use them."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pushgateway_bridge.storage.sqlite import SQLiteStorage

DOWNSTREAMS = ("pushgateway", "alertmanager", "loki", "notify")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class OutboxCollector(Collector):
    """Backlog per downstream, read from storage at scrape time."""

    def __init__(self, storage: SQLiteStorage, dirty_groups: Gauge) -> None:
        self.storage = storage
        self.dirty_groups = dirty_groups

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self.storage.pending_stats()
        pending = GaugeMetricFamily(
            "bridge_outbox_pending", "Items accepted but not yet delivered.", labels=["downstream"]
        )
        oldest = GaugeMetricFamily(
            "bridge_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered item (0 when none).",
            labels=["downstream"],
        )
        now = time.time()
        for downstream in DOWNSTREAMS:
            count, created = stats.get(downstream, (0, None))
            if downstream == "pushgateway":
                count = len(self.storage.dirty()) + len(self.storage.tombstones())
            pending.add_metric([downstream], count)
            oldest.add_metric([downstream], now - created if created else 0.0)
        yield pending
        yield oldest


class BridgeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "bridge_http_requests", "HTTP requests answered.", ["handler", "code"], registry=r
        )
        self.http_duration = Histogram(
            "bridge_http_request_duration_seconds",
            "Time to answer a request.",
            ["handler"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.events_accepted = Counter(
            "bridge_events_accepted", "Events committed to storage, by API.", ["source"], registry=r
        )
        self.forward_errors = Counter(
            "bridge_forward_errors",
            "Failed deliveries by downstream and kind.",
            ["downstream", "kind"],
            registry=r,
        )
        self.forward_duration = Histogram(
            "bridge_forward_duration_seconds",
            "Time of one delivery (one push, one batch).",
            ["downstream"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.forwarded = Counter(
            "bridge_forwarded",
            "Items delivered by downstream (groups, alerts, log lines, notifications).",
            ["downstream"],
            registry=r,
        )
        self.downstream_up = Gauge(
            "bridge_downstream_up",
            "1 when the last delivery to the downstream succeeded.",
            ["downstream"],
            registry=r,
        )
        self.spool_full = Gauge("bridge_spool_full", "1 while new events are refused (503).", registry=r)
        self.rejected = Counter("bridge_rejected", "Requests refused, by reason.", ["reason"], registry=r)
        self.groups_expired = Counter(
            "bridge_groups_expired",
            "Pushgateway groups deleted for silence or deregistration.",
            ["job"],
            registry=r,
        )
        self.dead_letters = Counter(
            "bridge_dead_letters",
            "Items dropped after a permanent downstream error (kept in storage).",
            ["downstream"],
            registry=r,
        )

    def attach_storage(self, storage: SQLiteStorage) -> None:
        self.registry.register(OutboxCollector(storage, self.downstream_up))
