"""The bridge's own metrics (GET /metrics). Names are a contract: rules and dashboards use them.

Each metric is declared once below (name, type, HELP, labels); `BridgeMetrics` registers them and
docs/metrics.md is rendered from the same table by `make rules`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from pushgateway_bridge.notifications.realtime import Hub
from pushgateway_bridge.storage.base import Storage

DOWNSTREAMS = ("pushgateway", "remote_write", "alertmanager", "loki", "notify", "notifications")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


@dataclass(frozen=True)
class OwnMetric:
    name: str  # as exposed: counters end in _total
    type: Literal["counter", "gauge", "histogram"]
    help: str
    labels: tuple[str, ...] = ()


HTTP_REQUESTS = OwnMetric(
    "bridge_http_requests_total", "counter", "HTTP requests answered.", ("handler", "code")
)
HTTP_DURATION = OwnMetric(
    "bridge_http_request_duration_seconds", "histogram", "Time to answer a request.", ("handler",)
)
EVENTS_ACCEPTED = OwnMetric(
    "bridge_events_accepted_total", "counter", "Events committed to storage, by API.", ("source",)
)
OUTBOX_PENDING = OwnMetric(
    "bridge_outbox_pending",
    "gauge",
    "Items accepted but not yet delivered (for pushgateway: groups waiting for a push or delete).",
    ("downstream",),
)
OUTBOX_OLDEST = OwnMetric(
    "bridge_outbox_oldest_pending_age_seconds",
    "gauge",
    "Age of the oldest undelivered item (0 when none).",
    ("downstream",),
)
FORWARD_ERRORS = OwnMetric(
    "bridge_forward_errors_total",
    "counter",
    "Failed deliveries by downstream and kind.",
    ("downstream", "kind"),
)
FORWARD_DURATION = OwnMetric(
    "bridge_forward_duration_seconds",
    "histogram",
    "Time of one delivery (one push, one batch).",
    ("downstream",),
)
FORWARDED = OwnMetric(
    "bridge_forwarded_total",
    "counter",
    "Items delivered by downstream (groups pushed or deleted, alerts, log lines, notifications).",
    ("downstream",),
)
DOWNSTREAM_UP = OwnMetric(
    "bridge_downstream_up",
    "gauge",
    "1 when the last delivery to the downstream succeeded, 0 after a retryable failure.",
    ("downstream",),
)
SPOOL_FULL = OwnMetric("bridge_spool_full", "gauge", "1 while new events are refused (503).")
BACKPRESSURE = OwnMetric(
    "bridge_backpressure_seconds_total",
    "counter",
    "Time writes waited for delivery to catch up (backpressure_pending_items), summed over the writes.",
)
REJECTED = OwnMetric("bridge_rejected_total", "counter", "Requests refused, by reason.", ("reason",))
GROUPS_EXPIRED = OwnMetric(
    "bridge_groups_expired_total",
    "counter",
    "Pushgateway groups deleted for silence (TTL) or deregistration.",
    ("job",),
)
DEAD_LETTERS = OwnMetric(
    "bridge_dead_letters_total",
    "counter",
    "Items dropped after a permanent downstream error (kept in the dead_letters table).",
    ("downstream",),
)

SOCKETS = OwnMetric(
    "bridge_notification_sockets", "gauge", "Open notification WebSockets (GET /api/notifications/ws/...)."
)
SOCKET_OVERFLOWS = OwnMetric(
    "bridge_notification_socket_overflows_total",
    "counter",
    "Notification WebSockets closed with 1013 because their client could not keep up.",
)

ESCALATIONS = OwnMetric(
    "bridge_notification_escalations_total",
    "counter",
    "Escalation steps added to unacknowledged notifications (each sent on the step's channel).",
)

OWN_METRICS = (
    HTTP_REQUESTS,
    HTTP_DURATION,
    EVENTS_ACCEPTED,
    OUTBOX_PENDING,
    OUTBOX_OLDEST,
    FORWARD_ERRORS,
    FORWARD_DURATION,
    FORWARDED,
    DOWNSTREAM_UP,
    SPOOL_FULL,
    BACKPRESSURE,
    REJECTED,
    GROUPS_EXPIRED,
    DEAD_LETTERS,
    SOCKETS,
    SOCKET_OVERFLOWS,
    ESCALATIONS,
)
# What each label's values are, for docs/metrics.md.
LABEL_VALUES = {
    "handler": "the route template",
    "code": "the HTTP status",
    "source": "service, metric, pipeline, alert, scheduler, heartbeat, sidecar, notify",
    "downstream": ", ".join(DOWNSTREAMS),
    "kind": (
        "unreachable, timeout, http_<code>, smtp_<code>, slack_<error>, auth, rejected, bad_answer, io, "
        "config"
    ),
    "reason": "unauthorized, forbidden, rate_limited, body_too_large, content_type, spool_full",
    "job": "the Pushgateway job (scheduler, service, pipeline, sidecar)",
}


def _counter(spec: OwnMetric, registry: CollectorRegistry) -> Counter:
    # prometheus_client appends _total itself.
    return Counter(spec.name.removesuffix("_total"), spec.help, spec.labels, registry=registry)


def _gauge(spec: OwnMetric, registry: CollectorRegistry) -> Gauge:
    return Gauge(spec.name, spec.help, spec.labels, registry=registry)


def _histogram(spec: OwnMetric, registry: CollectorRegistry) -> Histogram:
    return Histogram(spec.name, spec.help, spec.labels, buckets=LATENCY_BUCKETS, registry=registry)


class OutboxCollector(Collector):
    """Backlog per downstream, read from storage at scrape time. The entity series go to one downstream,
    `state_downstream` (pushgateway or remote_write): its backlog is the entities changed or deleted since
    it last wrote them."""

    def __init__(
        self, storage: Storage, state_downstream: str = "pushgateway", downstreams: list[str] | None = None
    ) -> None:
        self.storage = storage
        self.state_downstream = state_downstream
        # BridgeMetrics' list, to which the integrations' downstreams are added at start.
        self.downstreams = downstreams if downstreams is not None else list(DOWNSTREAMS)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self.storage.pending_stats()
        pending = GaugeMetricFamily(OUTBOX_PENDING.name, OUTBOX_PENDING.help, labels=OUTBOX_PENDING.labels)
        oldest = GaugeMetricFamily(OUTBOX_OLDEST.name, OUTBOX_OLDEST.help, labels=OUTBOX_OLDEST.labels)
        now = time.time()
        for downstream in self.downstreams:
            count, created = stats.get(downstream, (0, None))
            if downstream == self.state_downstream:
                count = len(self.storage.dirty()) + len(self.storage.tombstones())
            pending.add_metric([downstream], count)
            oldest.add_metric([downstream], now - created if created else 0.0)
        yield pending
        yield oldest


class HubCollector(Collector):
    """The real-time hub's sockets, read at scrape time (no per-user label: users are unbounded)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        stats = self.hub.stats()
        yield GaugeMetricFamily(SOCKETS.name, SOCKETS.help, value=stats.connections)
        name = SOCKET_OVERFLOWS.name.removesuffix("_total")
        yield CounterMetricFamily(name, SOCKET_OVERFLOWS.help, value=stats.overflows)


class BridgeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        self.http_requests = _counter(HTTP_REQUESTS, r)
        self.http_duration = _histogram(HTTP_DURATION, r)
        self.events_accepted = _counter(EVENTS_ACCEPTED, r)
        self.forward_errors = _counter(FORWARD_ERRORS, r)
        self.forward_duration = _histogram(FORWARD_DURATION, r)
        self.forwarded = _counter(FORWARDED, r)
        self.downstream_up = _gauge(DOWNSTREAM_UP, r)
        self.spool_full = _gauge(SPOOL_FULL, r)
        self.backpressure = _counter(BACKPRESSURE, r)
        self.rejected = _counter(REJECTED, r)
        self.groups_expired = _counter(GROUPS_EXPIRED, r)
        self.dead_letters = _counter(DEAD_LETTERS, r)
        self.escalations = _counter(ESCALATIONS, r)
        self.downstreams = list(DOWNSTREAMS)

    def add_downstream(self, name: str) -> None:
        """One more downstream (an integration), in the backlog gauges from the next scrape on."""
        if name not in self.downstreams:
            self.downstreams.append(name)

    def attach_hub(self, hub: Hub) -> None:
        self.registry.register(HubCollector(hub))

    def attach_storage(self, storage: Storage, state_downstream: str = "pushgateway") -> None:
        self.registry.register(OutboxCollector(storage, state_downstream, self.downstreams))
