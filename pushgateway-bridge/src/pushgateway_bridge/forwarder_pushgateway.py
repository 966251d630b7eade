"""Pushgateway groups from local storage: each changed entity's group pushed at most once a flush, the
expired and deleted ones deleted (one thread, forwarder.py's Worker)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pushgateway_bridge.domain.state import group_path, grouping, render
from pushgateway_bridge.forwarder import Worker, backoff
from pushgateway_bridge.forwarder_expiry import expire_silent
from pushgateway_bridge.metrics import BridgeMetrics
from pushgateway_bridge.settings import Settings
from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.sinks.pushgateway import Pushgateway, PushgatewaySink
from pushgateway_bridge.storage.base import Storage

log = logging.getLogger("pushgateway_bridge.forwarder")


class PushgatewayWorker(Worker):
    """Pushes each changed group at most once per flush interval; deletes expired and deleted groups."""

    downstream = "pushgateway"
    settings: Settings
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
                self.dead_lettered(1)
            self.storage.mark_pushed(kind, key, version)
        if was_down:
            log.info("Pushgateway reachable again: restoring every group")
            self.storage.mark_all_dirty()

    def timed(self, call: Callable[..., None], *args: str) -> None:
        started = time.perf_counter()
        call(*args)
        self.metrics.forward_duration.labels(self.downstream).observe(time.perf_counter() - started)
        self.up()
