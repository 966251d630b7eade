"""Entity series by Prometheus remote write, in place of Pushgateway (setting `remote_write_url`).

A receiver keeps no "current value" the way Pushgateway does: a series is a sequence of samples, and one
not written for 5 minutes goes stale. So every flush writes the current value of every series of every live
entity, at one timestamp. A series written before and not now (the entity was deleted or expired, or a
label value changed, as a pipeline's `step`) gets a staleness marker at once: a query stops seeing it right
away, as it does when a scraped series leaves Pushgateway's page.

A receiver that is down loses nothing the bridge holds: the next flush after it is back writes every
entity's state as it is then, and the markers of deletions made meanwhile (tombstones are forgotten only
once written). Samples of the flushes in between are not queued: like a failed scrape, the outage shows
as a gap.
"""

from __future__ import annotations

import logging
import time

from pushgateway_bridge.domain.kinds import KINDS, State
from pushgateway_bridge.forwarder import Worker, backoff
from pushgateway_bridge.forwarder_expiry import expire_silent
from pushgateway_bridge.metrics import BridgeMetrics
from pushgateway_bridge.settings import Settings
from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.sinks.remote_write import Refused, RemoteWriteSink, entity_series
from pushgateway_bridge.sinks.remote_write_proto import (
    STALE_NAN,
    FlushEncoder,
    Labels,
    compress,
    is_stale,
)
from pushgateway_bridge.storage.base import Storage

log = logging.getLogger("pushgateway_bridge.forwarder")

# Series in one request: a body of about 20 KB compressed, far under any receiver's size limit, and a
# refused request is halved down to the refused series in a dozen steps.
MAX_SERIES_PER_REQUEST = 2000

Batch = list[tuple[Labels, float]]


class RemoteWriteWorker(Worker):
    """Writes every live entity's series each flush; staleness markers for series no longer written."""

    downstream = "remote_write"
    settings: Settings
    storage: Storage

    def __init__(
        self, settings: Settings, storage: Storage, metrics: BridgeMetrics, sink: RemoteWriteSink
    ) -> None:
        super().__init__(settings, storage, metrics)
        self.sink = sink
        self.written: set[Labels] = set()  # series the receiver holds a live sample of
        self.encoder = FlushEncoder()
        # An entity's series are a function of its state: rendered again only when the state changed.
        self.rendered: dict[tuple[str, str], tuple[State, Batch]] = {}
        self.last_timestamp_ms = 0
        self.next_expiry = 0.0

    def close(self) -> None:
        self.sink.close()

    def step(self) -> float:
        interval = self.settings.flush_interval_seconds
        now = time.monotonic()
        if now >= self.next_expiry:
            self.next_expiry = now + max(interval, 1.0)
            expire_silent(self.settings, self.storage, self.metrics)
        if not self.leading():
            self.written.clear()  # another bridge writes meanwhile: what this one wrote says nothing
            return interval
        try:
            self.flush()
        except SinkError as error:
            self.failed(error)
            return backoff(self.failures - 1, self.settings)
        return interval

    def leading(self) -> bool:
        """Whether this bridge writes the entity series: the storage's elected pusher does, as two
        writers would interleave samples out of order, which receivers refuse."""
        return self.storage.leading()

    def timestamp_ms(self) -> int:
        """Now, in ms, later than any sample written before: a receiver refuses one out of order."""
        self.last_timestamp_ms = max(time.time_ns() // 1_000_000, self.last_timestamp_ms + 1)
        return self.last_timestamp_ms

    def flush(self) -> None:
        tombstones = self.storage.tombstones()
        dirty = self.storage.dirty()
        current = self.current_series()
        gone = set(self.written)
        for dead_kind, _key, last in tombstones:  # after a restart `written` is empty: last states tell
            gone.update(labels for labels, _value in entity_series(dead_kind, last))
        gone.difference_update(current)
        rows: Batch = [*current.items(), *((labels, STALE_NAN) for labels in sorted(gone))]
        timestamp = self.timestamp_ms()
        for start in range(0, len(rows), MAX_SERIES_PER_REQUEST):
            self.deliver(rows[start : start + MAX_SERIES_PER_REQUEST], timestamp)
        # Complete: every row is written or dead-lettered.
        self.written = set(current)
        self.encoder.retain(current)
        for dead_kind, key, _last in tombstones:
            self.storage.forget_tombstone(dead_kind, key)
        for changed_kind, key, version in dirty:
            self.storage.mark_pushed(changed_kind, key, version)

    def current_series(self) -> dict[Labels, float]:
        """Every series of every live entity and its value now."""
        current: dict[Labels, float] = {}
        rendered: dict[tuple[str, str], tuple[State, Batch]] = {}
        for kind in KINDS:
            for key, state in self.storage.entities(kind).items():
                cached = self.rendered.get((kind, key))
                if cached is not None and (cached[0] is state or cached[0] == state):
                    rows = cached[1]
                else:
                    rows = list(entity_series(kind, state))
                rendered[kind, key] = (state, rows)
                current.update(rows)
        self.rendered = rendered
        return current

    def deliver(self, batch: Batch, timestamp: int) -> None:
        """Write `batch`; one refused for its series is halved until the refused series are alone, so one
        series the receiver rejects does not drop the others. Transient errors propagate (backoff)."""
        try:
            self.write(batch, timestamp)
        except Refused as error:
            if len(batch) == 1 or not error.by_series:
                self.failed(error)
                self.metrics.dead_letters.labels(self.downstream).inc(len(batch))
                return
            half = len(batch) // 2
            self.deliver(batch[:half], timestamp)
            self.deliver(batch[half:], timestamp)

    def write(self, batch: Batch, timestamp: int) -> None:
        body = compress(self.encoder.encode(batch, timestamp))
        started = time.perf_counter()
        self.sink.write(body)
        self.metrics.forward_duration.labels(self.downstream).observe(time.perf_counter() - started)
        self.metrics.forwarded.labels(self.downstream).inc(len(batch))
        for labels, value in batch:
            if is_stale(value):
                self.written.discard(labels)
            else:
                self.written.add(labels)
        self.up()
