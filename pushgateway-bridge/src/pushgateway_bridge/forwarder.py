"""Background delivery from local storage: the worker threads, and outbox items (events) in batches.

One thread per downstream, so a slow Loki never holds back Pushgateway (forwarder_pushgateway.py).
Retries back off exponentially with jitter; permanent errors are never retried: they are counted, logged
and kept (dead_letters table). The delivery process runs an OutboxWorker too: this module imports
nothing of the web stack or of the domain's models.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from pushgateway_bridge.domain import event_batch
from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.storage.base import OutboxStore, Pending, StorageUnavailable, counted

if TYPE_CHECKING:  # the delivery process relays its reports: it loads no metrics (delivery/child.py)
    from pushgateway_bridge.metrics import BridgeMetrics

log = logging.getLogger("pushgateway_bridge.forwarder")


class Pacing(Protocol):
    """The settings a worker paces itself by: Settings, or the delivery process's DeliverySettings."""

    @property
    def flush_interval_seconds(self) -> float: ...

    @property
    def retry_initial_seconds(self) -> float: ...

    @property
    def retry_max_seconds(self) -> float: ...


class BatchSink(Protocol):
    def send(self, payloads: list[dict[str, Any]]) -> None: ...

    def close(self) -> None: ...


def backoff(attempt: int, settings: Pacing) -> float:
    """Exponential backoff with full jitter between half and all of the step."""
    step = min(settings.retry_max_seconds, settings.retry_initial_seconds * 2 ** min(attempt, 30))
    return float(step * random.uniform(0.5, 1.0))  # noqa: S311  (jitter, not cryptography)


class Worker(threading.Thread):
    downstream = ""

    def __init__(self, settings: Pacing, storage: OutboxStore, metrics: BridgeMetrics | None) -> None:
        """`metrics`: where up(), failed(), forwarded() and dead_lettered() record; None for a worker
        whose subclass reports them elsewhere (the delivery process's, to the bridge)."""
        super().__init__(name=f"forward-{self.downstream}", daemon=True)
        self.settings = settings
        self.storage = storage
        self._metrics = metrics
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

    @property
    def metrics(self) -> BridgeMetrics:
        assert self._metrics is not None, "a worker without metrics overrides every report"
        return self._metrics

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

    def dead_lettered(self, count: int) -> None:
        self.metrics.dead_letters.labels(self.downstream).inc(count)


class OutboxWorker(Worker):
    """Delivers outbox items of one downstream in batches, at least once, in order of acceptance."""

    def __init__(  # noqa: PLR0917
        self,
        downstream: str,
        sink: BatchSink,
        settings: Pacing,
        storage: OutboxStore,
        metrics: BridgeMetrics | None,
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
        # A full step: more may be due at once (a sidecar batch's row holds all its events).
        return 0.0 if counted(due) >= self.batch_size else self.idle_wait

    def deliver(self, due: list[Pending]) -> None:
        try:
            self.send(due)
        except SinkError as error:
            if not error.permanent:
                raise
            if len(due) == 1:
                self.failed(error)
                self.storage.dead_letter(due, error.message)
                self.dead_lettered(due[0].deliveries)
                return
            # One bad item must not hold back the others: try them one by one.
            for item in due:
                self.deliver([item])

    def send(self, due: list[Pending]) -> None:
        started = time.perf_counter()
        self.sink.send(event_batch.expanded([item.payload for item in due]))
        seconds = time.perf_counter() - started
        self.storage.delivered(due)
        self.forwarded(counted(due), seconds)
        self.up()
