"""The configured integrations in the running bridge: their sinks and forwarder threads, the outbox items
of each accepted event, and their health for /ready.

Each enabled entry is one more outbox downstream (`integration:<name>`) with its own OutboxWorker, so it
has Loki's guarantees: an event's items commit with the request (durable, answered only once committed),
are delivered at least once with backoff, count against `spool_max_events`, and a permanent refusal is a
dead letter. A slow or absent integration only grows its own backlog.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from pushgateway_bridge.configfile import ConfigError
from pushgateway_bridge.domain.events import EVENTS
from pushgateway_bridge.forwarder import BatchSink, OutboxWorker
from pushgateway_bridge.integrations.config import (
    KEY,
    FileConfig,
    Integration,
    LocalApiConfig,
    OtlpConfig,
    WebhookConfig,
)
from pushgateway_bridge.integrations.files import FileExportSink
from pushgateway_bridge.integrations.http import origin
from pushgateway_bridge.integrations.local_api import LocalApiSink
from pushgateway_bridge.integrations.webhook import WebhookSink
from pushgateway_bridge.jsontext import Encoded
from pushgateway_bridge.metrics import BridgeMetrics
from pushgateway_bridge.settings import Settings
from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.storage.base import OutboxItem, Storage


def sink(integration: Integration) -> BatchSink:
    config, name = integration.config, integration.name
    if isinstance(config, WebhookConfig):
        return WebhookSink(name, config)
    if isinstance(config, FileConfig):
        return FileExportSink(name, config, "csv" if integration.type == "csv" else "json")
    if isinstance(config, LocalApiConfig):
        return LocalApiSink(name, config)
    assert isinstance(config, OtlpConfig)
    # Imported only for an otlp integration: protobuf and the OTLP messages are 2.7 MB of a bridge's
    # memory that every other bridge would carry (bench/README.md, eighth round).
    from pushgateway_bridge.integrations.otlp import OtlpSink  # noqa: PLC0415

    return OtlpSink(name, config)


def _opened(integration: Integration) -> BatchSink:
    """The sink, or ConfigError: an export file that cannot be opened refuses the start."""
    try:
        return sink(integration)
    except SinkError as exc:
        raise ConfigError(KEY, f"{integration.name}: {exc.message}") from None


def target(integration: Integration) -> str:
    """Where it delivers, for /ready: a file's path, a URL's origin (never its path, query or user part)."""
    config = integration.config
    if isinstance(config, WebhookConfig):
        return origin(config.url)
    if isinstance(config, FileConfig):
        return str(config.path)
    if isinstance(config, LocalApiConfig):
        return origin(config.base_url)
    return origin(config.endpoint)


class Integrations:
    def __init__(self, integrations: Sequence[Integration]) -> None:
        self.integrations = list(integrations)
        # Only a local_api entry needs the event as received; without one the route does not keep it.
        self.keeps_originals = any(i.type == "local_api" for i in self.integrations)
        self.sinks = {i.downstream: _opened(i) for i in self.integrations}
        self.workers: dict[str, OutboxWorker] = {}

    def __bool__(self) -> bool:
        return bool(self.integrations)

    def start_workers(
        self, settings: Settings, storage: Storage, metrics: BridgeMetrics
    ) -> dict[str, OutboxWorker]:
        for integration in self.integrations:
            downstream = integration.downstream
            metrics.add_downstream(downstream)
            self.workers[downstream] = OutboxWorker(
                downstream,
                self.sinks[downstream],
                settings,
                storage,
                metrics,
                integration.config.batch_size,
                settings.flush_interval_seconds,
            )
        return self.workers

    def fan_out(self, outbox: Sequence[OutboxItem]) -> list[OutboxItem]:
        """Each item, and for an event item one more per integration. local_api forwards events as their
        clients sent them, which only the sidecar API's have: it is sent their batches, which hold the
        originals while it is configured (domain/event_batch.py)."""
        items: list[OutboxItem] = []
        for item in outbox:
            items.append(item)
            if item.downstream != EVENTS:
                continue
            batch = isinstance(item.payload, Encoded)
            for integration in self.integrations:
                if integration.type != "local_api" or batch:
                    items.append(item._replace(downstream=integration.downstream))
        return items

    def wake(self, pending: int) -> None:
        for worker in self.workers.values():
            if pending >= worker.batch_size and not worker.wake.is_set():
                worker.wake.set()

    def health(self, stats: Mapping[str, tuple[int, float | None]]) -> dict[str, Any]:
        """Each integration: its type and target, whether its last delivery went through (`reachable`: no
        retryable failure since), its last error, and its backlog."""
        now = time.time()
        found: dict[str, Any] = {}
        for integration in self.integrations:
            worker = self.workers.get(integration.downstream)
            pending, oldest = stats.get(integration.downstream, (0, None))
            found[integration.downstream] = {
                "type": integration.type,
                "target": target(integration),
                "reachable": worker is not None and worker.failures == 0,
                "last_error": worker.last_error if worker else None,
                "pending": pending,
                "oldest_pending_age_seconds": round(now - oldest, 3) if oldest else 0.0,
            }
        return found
