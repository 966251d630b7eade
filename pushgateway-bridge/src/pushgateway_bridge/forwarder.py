"""Background delivery from local storage: Pushgateway groups (coalesced state) and outbox items (events).

One thread per downstream, so a slow Loki never holds back Pushgateway. Retries back off exponentially
with jitter; permanent errors are never retried: they are counted, logged and kept (dead_letters table).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from pushgateway_bridge.domain.kinds import KINDS
from pushgateway_bridge.domain.state import group_path, grouping, render
from pushgateway_bridge.metrics import BridgeMetrics
from pushgateway_bridge.settings import Settings
from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.sinks.pushgateway import Pushgateway, PushgatewaySink
from pushgateway_bridge.storage.base import OutboxStore, Storage, StorageUnavailable

log = logging.getLogger("pushgateway_bridge.forwarder")


class BatchSink(Protocol):
    def send(self, payloads: list[dict[str, Any]]) -> None: ...

    def close(self) -> None: ...


def backoff(attempt: int, settings: Settings) -> float:
    """Exponential backoff with full jitter between half and all of the step."""
    step = min(settings.retry_max_seconds, settings.retry_initial_seconds * 2 ** min(attempt, 30))
    return float(step * random.uniform(0.5, 1.0))  # noqa: S311  (jitter, not cryptography)


def expire_silent(settings: Settings, storage: Storage, metrics: BridgeMetrics) -> None:
    """Turn entities silent past their kind's TTL into tombstones (deleted downstream next)."""
    ttl = settings.group_ttl_seconds
    for kind in KINDS:
        seconds = getattr(ttl, kind)
        if seconds <= 0:
            continue
        for _key, state in storage.expire(kind, time.time() - seconds):
            job, labels = grouping(kind, state)
            log.info("expiring group job=%s %s: silent for more than %gs", job, dict(labels), seconds)
            metrics.groups_expired.labels(job).inc()


class Worker(threading.Thread):
    downstream = ""

    def __init__(self, settings: Settings, storage: OutboxStore, metrics: BridgeMetrics) -> None:
        super().__init__(name=f"forward-{self.downstream}", daemon=True)
        self.settings = settings
        self.storage = storage
        self.metrics = metrics
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.failures = 0
        self.last_error: str | None = None

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                delay = self.step()
            except StorageUnavailable as exc:  # PostgreSQL away: nothing to deliver from until it is back
                log.warning("%s forwarder waits for the storage: %s", self.downstream, exc)
                delay = self.settings.flush_interval_seconds
            except Exception:
                log.exception("%s forwarder step failed", self.downstream)
                delay = self.settings.flush_interval_seconds
            self.wake.wait(delay)
            self.wake.clear()
        self.close()

    def step(self) -> float:
        """Deliver what is due; return the seconds to wait before the next step."""
        raise NotImplementedError

    def close(self) -> None:
        return None

    def up(self) -> None:
        self.failures = 0
        self.metrics.downstream_up.labels(self.downstream).set(1)

    def failed(self, error: SinkError) -> None:
        self.last_error = error.message
        self.metrics.forward_errors.labels(self.downstream, error.kind).inc()
        if not error.permanent:
            self.failures += 1
            self.metrics.downstream_up.labels(self.downstream).set(0)
        log.warning(
            "%s delivery failed (%s): %s",
            self.downstream,
            "permanent" if error.permanent else "will retry",
            error.message,
        )

    def forwarded(self, count: int, seconds: float) -> None:
        """`count` items delivered in one call of `seconds`."""
        self.metrics.forward_duration.labels(self.downstream).observe(seconds)
        self.metrics.forwarded.labels(self.downstream).inc(count)

    def dead_lettered(self) -> None:
        self.metrics.dead_letters.labels(self.downstream).inc()


class PushgatewayWorker(Worker):
    """Pushes each changed group at most once per flush interval; deletes expired and deleted groups."""

    downstream = "pushgateway"
    storage: Storage

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        metrics: BridgeMetrics,
        sink: Pushgateway | None = None,
    ) -> None:
        super().__init__(settings, storage, metrics)
        self.sink = sink or PushgatewaySink(settings.pushgateway_url, settings.request_timeout_seconds)
        self.start_time: str | None = None
        self.next_restore_check = 0.0
        self.next_expiry = 0.0

    def close(self) -> None:
        self.sink.close()

    def step(self) -> float:
        interval = self.settings.flush_interval_seconds
        try:
            now = time.monotonic()
            if now >= self.next_restore_check:
                self.next_restore_check = now + self.settings.restore_check_interval_seconds
                self.check_restart()
            if now >= self.next_expiry:
                self.next_expiry = now + max(interval, 1.0)
                self.expire()
            self.delete_tombstones()
            self.push_dirty()
        except SinkError as error:
            self.failed(error)
            return backoff(self.failures - 1, self.settings)
        return interval

    def check_restart(self) -> None:
        started = self.sink.start_time()
        if self.start_time is not None and started != self.start_time:
            log.warning("Pushgateway restarted (start time %s): restoring every group", started)
            self.storage.mark_all_dirty()
        self.start_time = started

    def expire(self) -> None:
        expire_silent(self.settings, self.storage, self.metrics)

    def delete_tombstones(self) -> None:
        for kind, key, state in self.storage.tombstones():
            job, labels = grouping(kind, state)
            path = group_path(job, labels)
            self.timed(self.sink.delete, path)
            log.info("deleted Pushgateway group job=%s %s", job, dict(labels))
            self.storage.forget_tombstone(kind, key)

    def push_dirty(self) -> None:
        was_down = self.failures > 0
        pushes: list[tuple[str, str, int, str, str]] = []  # kind, key, version, path, text
        for kind, key, version in self.storage.dirty():
            state = self.storage.snapshot(kind, key)
            if state is not None:
                job, labels = grouping(kind, state)
                pushes.append((kind, key, version, group_path(job, labels), render(kind, state)))
        # One call for the step: through the delivery process, one round trip, not one a group.
        answers = self.sink.put_all([(path, text) for _, _, _, path, text in pushes]) if pushes else []
        for (kind, key, version, _, _), answer in zip(pushes, answers, strict=False):
            self.metrics.forward_duration.labels(self.downstream).observe(answer.seconds)
            if answer.error is None:
                self.metrics.forwarded.labels(self.downstream).inc()
                self.up()
            elif not answer.error.permanent:
                raise answer.error  # this group and the rest stay dirty for the next try
            else:
                # A group Pushgateway refuses is not retried until the entity changes again.
                self.failed(answer.error)
                self.dead_lettered()
            self.storage.mark_pushed(kind, key, version)
        if was_down:
            log.info("Pushgateway reachable again: restoring every group")
            self.storage.mark_all_dirty()

    def timed(self, call: Callable[..., None], *args: str) -> None:
        started = time.perf_counter()
        call(*args)
        self.metrics.forward_duration.labels(self.downstream).observe(time.perf_counter() - started)
        self.up()


class OutboxWorker(Worker):
    """Delivers outbox items of one downstream in batches, at least once, in order of acceptance."""

    def __init__(  # noqa: PLR0917
        self,
        downstream: str,
        sink: BatchSink,
        settings: Settings,
        storage: OutboxStore,
        metrics: BridgeMetrics,
        batch_size: int,
        idle_wait: float,
    ) -> None:
        self.downstream = downstream
        super().__init__(settings, storage, metrics)
        self.sink = sink
        self.batch_size = batch_size
        self.idle_wait = idle_wait

    def close(self) -> None:
        self.sink.close()

    def step(self) -> float:
        due = self.storage.due(self.downstream, time.time(), self.batch_size)
        if not due:
            return self.idle_wait
        try:
            self.deliver(due)
        except SinkError as error:
            self.failed(error)
            attempts = max(item.attempts for item in due)
            self.storage.retry_later(
                [item.id for item in due], time.time() + backoff(attempts, self.settings), error.message
            )
            return min(backoff(self.failures - 1, self.settings), self.settings.retry_max_seconds)
        return 0.0 if len(due) == self.batch_size else self.idle_wait

    def deliver(self, due: list[Any]) -> None:
        try:
            self.send(due)
        except SinkError as error:
            if not error.permanent:
                raise
            if len(due) == 1:
                self.failed(error)
                self.storage.dead_letter([due[0].id], error.message)
                self.dead_lettered()
                return
            # One bad item must not hold back the others: try them one by one.
            for item in due:
                self.deliver([item])

    def send(self, due: list[Any]) -> None:
        started = time.perf_counter()
        self.sink.send([item.payload for item in due])
        seconds = time.perf_counter() - started
        self.storage.delivered([item.id for item in due])
        self.forwarded(len(due), seconds)
        self.up()
