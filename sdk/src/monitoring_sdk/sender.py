"""The sender thread behind `SidecarEmitter`: batches from the in-memory queue to the bridge, or to the spool.

It posts batches (`delivery.py`), retries a plain outage with backoff, and appends what it cannot deliver to
the spool (`spool.py`). While the spool holds events, new ones are appended behind them and the spool is
drained oldest first, so the bridge sees events in the order they happened, also across processes (a later
run sends an earlier run's spool).

A 401/403 (a wrong or missing key) keeps the events spooled like an outage, logs one ERROR naming
SIDECAR_API_KEY, and they are sent once the bridge takes the key (a later run with the right key sends them
too). A Retry-After on 429/503 is honoured.

One lock covers the queue, the batch in flight and the hand-over to `stop()`: an event is always in exactly
one of the queue, the batch in flight, the bridge or the spool, so `stop()` can spool the rest without loss or
duplicates even while the thread is stuck in a request.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from monitoring_sdk.delivery import BatchPoster, DeliveryError
from monitoring_sdk.spool import Spool
from monitoring_sdk.transport import Failure, backoff_s

log = logging.getLogger("monitoring_sdk")


@dataclass
class EmitterStats:
    """Counts of events, for logs and tests; `last_error` is the latest delivery failure."""

    sent: int = 0
    spooled: int = 0
    rejected: int = 0
    dropped: int = 0
    last_error: str | None = None


class Sender:
    """Deliver queued events from one background thread; nothing here ever raises into the caller."""

    def __init__(
        self,
        poster: BatchPoster,
        spool: Spool,
        stats: EmitterStats,
        *,
        batch_size: int,
        flush_interval_s: float,
        retries: int,
        backoff_s: float,
        max_backoff_s: float,
        max_queue: int,
    ) -> None:
        self.poster = poster
        self.spool = spool
        self.stats = stats
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_queue = max_queue
        self._pending: deque[dict[str, Any]] = deque()  # emitted, not yet taken by the thread
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight: list[dict[str, Any]] = []  # the batch the thread holds
        self._abandoned = False  # stop() gave up waiting and spooled the thread's batch itself
        self._retry_at = 0.0  # monotonic time before which the bridge is not tried again
        self._failures = 0
        self._auth_logged = False  # the ERROR about the key is logged once until a delivery succeeds

    # -- called from the user's threads ---------------------------------------------------------------

    def start(self) -> bool:
        """Start the thread unless it runs already; True when this call started it."""
        with self._lock:
            if self._thread is not None:
                return False
            self._thread = threading.Thread(target=self._run, name="monitoring-sdk-sender", daemon=True)
            self._thread.start()
            return True

    def put(self, body: dict[str, Any]) -> None:
        """Queue one event's JSON form; a full queue drops it (counted and logged) rather than wait."""
        with self._lock:
            if len(self._pending) >= self.max_queue:
                self.stats.dropped += 1
                log.warning("monitoring_sdk: event queue full, event %s dropped", body["event_id"])
                return
            self._pending.append(body)
            self._lock.notify()

    def idle(self) -> bool:
        """True when every event queued so far is delivered, rejected or spooled."""
        with self._lock:
            return not self._pending and not self._inflight

    def stop(self, timeout_s: float) -> None:
        """Let the thread send or spool what is queued for up to `timeout_s`, then spool what is left."""
        with self._lock:
            self._stop.set()
            self._lock.notify()
        if self._thread is not None:
            self._thread.join(timeout_s)
        with self._lock:
            # A thread stuck in a request gives up its batch: it goes to disk first, then the rest.
            self._abandoned = True
            left = [*self._inflight, *self._pending]
            self._pending.clear()
        self.spool_now(left)
        self.poster.close()

    def spool_now(self, events: list[dict[str, Any]]) -> None:
        """Append to the spool straight away (after stop(): kept on disk for the next run)."""
        self._spool_events(events, force=True)

    # -- the thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._take()
            stopping = self._stop.is_set()
            try:
                if batch:
                    self._deliver(batch, final=stopping)
                elif self.spool.pending() and (stopping or time.monotonic() >= self._retry_at):
                    self._drain()
            except Exception as exc:  # a bug here must never reach the user's job
                log.exception("monitoring_sdk: sender error")
                self.stats.last_error = repr(exc)
                self._spool_events(batch)
            finally:
                with self._lock:
                    self._inflight = []
                    done = stopping and not self._pending
            if done or self._abandoned:
                return

    def _take(self) -> list[dict[str, Any]]:
        """Up to `batch_size` events: waits `flush_interval_s` for the first, then takes what is queued.

        Taking and marking in flight is one step under the lock, so stop() always sees every event.
        """
        with self._lock:
            if not self._pending and not self._stop.is_set():
                self._lock.wait(self.flush_interval_s)
            count = min(self.batch_size, len(self._pending))
            self._inflight = [self._pending.popleft() for _ in range(count)]
            return list(self._inflight)

    def _deliver(self, batch: list[dict[str, Any]], *, final: bool) -> None:
        if self.spool.pending() or (time.monotonic() < self._retry_at and not final):
            # Older events wait on disk (or the bridge is known down): queue behind them to keep order.
            self._spool_events(batch)
            if time.monotonic() >= self._retry_at or final:
                self._drain()
            return
        attempts = 1 if final else self.retries + 1
        for attempt in range(attempts):
            try:
                self.poster.post(batch)
            except DeliveryError as exc:
                if exc.permanent:
                    self._rejected(batch, exc)
                    return
                self._failed(exc)
                # Only a plain outage is retried right away; a key or a Retry-After means later, from disk.
                outage = exc.failure is Failure.TRANSIENT and exc.retry_after is None
                pause = backoff_s(self.backoff_s, attempt, self.max_backoff_s)
                if outage and attempt + 1 < attempts and not self._stop.wait(pause):
                    continue
                self._spool_events(batch)
                self._mark_down(exc.retry_after)
                return
            else:
                self._mark_up(len(batch))
                return

    def _drain(self) -> None:
        """Send the spool oldest first until it is empty or the bridge fails once."""
        with self.spool.draining() as mine:
            if mine:
                self._drain_locked()
            else:  # another process is resending the same file: look again shortly
                self._retry_at = time.monotonic() + self.backoff_s

    def _drain_locked(self) -> None:
        while True:
            rows = self.spool.peek(self.batch_size)
            if not rows:
                return
            events = [row.event for row in rows]
            try:
                self.poster.post(events)
            except DeliveryError as exc:
                if not exc.permanent:
                    self._failed(exc)
                    self._mark_down(exc.retry_after)
                    return
                self._rejected(events, exc)
            else:
                self._mark_up(len(events))
                log.info("monitoring_sdk: resent %d spooled events", len(events))
            self.spool.remove(row.rowid for row in rows)

    def _spool_events(self, events: list[dict[str, Any]], *, force: bool = False) -> None:
        """Append to the spool; the thread's own batch stops being in flight in the same step."""
        if not events:
            return
        with self._lock:
            if self._abandoned and not force:
                return  # stop() gave up on the thread and has spooled its batch already
            try:
                self.spool.append(events)
            except (OSError, sqlite3.Error) as exc:
                log.warning("monitoring_sdk: cannot spool %d events: %s", len(events), exc)
                self.stats.dropped += len(events)
            else:
                self.stats.spooled += len(events)
            if not force:
                self._inflight = []

    def _rejected(self, events: list[dict[str, Any]], exc: DeliveryError) -> None:
        log.warning("monitoring_sdk: bridge rejected %d events, not retried: %s", len(events), exc)
        with self._lock:
            self._inflight = []
            self.stats.rejected += len(events)
            self.stats.last_error = str(exc)

    def _failed(self, exc: DeliveryError) -> None:
        """Note a failure that keeps the events; a refused key is an ERROR once, as a person must act."""
        self.stats.last_error = str(exc)
        if exc.failure is Failure.AUTH and not self._auth_logged:
            self._auth_logged = True
            log.error(
                "monitoring_sdk: the bridge at %s refused the API key (%s). Set SIDECAR_API_KEY (or "
                "SIDECAR_API_KEY_FILE, or api_key=) to a key it accepts; until then events wait in %s.",
                self.poster.base_url,
                exc,
                self.spool.path,
            )

    def _mark_down(self, retry_after: float | None = None) -> None:
        self._failures += 1
        delay = max(backoff_s(self.backoff_s, self._failures, self.max_backoff_s), retry_after or 0.0)
        self._retry_at = time.monotonic() + delay

    def _mark_up(self, count: int) -> None:
        self._failures = 0
        self._retry_at = 0.0
        self._auth_logged = False
        with self._lock:
            self._inflight = []  # delivered: stop() must not spool them again
            self.stats.sent += count
