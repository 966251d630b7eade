"""`SidecarEmitter`: events to the bridge in batches from a background thread; a spool file when it is down.

The user's thread only appends events to an in-memory queue. The sender thread posts them to
`/v1/events/batch`, retries transient failures with backoff, and appends what it cannot deliver to a
spool file (`spool.py`). While the spool holds events, new ones are appended behind them and the spool is
drained oldest first, so the bridge sees events in the order they happened, also across processes (a later
run sends an earlier run's spool). `close()` (also at exit) is bounded by `close_timeout_s`: what the
sender could not deliver by then is spooled, in order.

Which failures are retried is `transport.classify`. A 401/403 (a wrong or missing key) keeps the events
spooled like an outage, logs one ERROR naming SIDECAR_API_KEY, and they are sent once the bridge takes the
key (a later run with the right key sends them too). A Retry-After on 429/503 is honoured.
"""

from __future__ import annotations

import atexit
import logging
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from monitoring_sdk.models import Event
from monitoring_sdk.settings import Settings, check_url
from monitoring_sdk.spool import Spool
from monitoring_sdk.transport import Failure, backoff_s, classify, retry_after_s

log = logging.getLogger("monitoring_sdk")
BATCH_PATH = "/v1/events/batch"


class DeliveryError(Exception):
    """A batch was not delivered; `permanent` ones (the bridge rejected it) are never retried.

    `retry_after` is the bridge's Retry-After in seconds (capped at the emitter's `max_backoff_s`).
    """

    def __init__(
        self, message: str, *, failure: Failure = Failure.TRANSIENT, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.failure = failure
        self.retry_after = retry_after

    @property
    def permanent(self) -> bool:
        return self.failure is Failure.PERMANENT


@dataclass
class EmitterStats:
    """Counts of events, for logs and tests; `last_error` is the latest delivery failure."""

    sent: int = 0
    spooled: int = 0
    rejected: int = 0
    dropped: int = 0
    last_error: str | None = None


class SidecarEmitter:
    """Send events to the bridge (`base_url`, else SIDECAR_URL) without ever blocking the caller."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        spool_path: Path | str | None = None,
        batch_size: int = 100,
        flush_interval_s: float = 0.2,
        timeout_s: float = 2.0,
        retries: int = 2,
        backoff_s: float = 0.2,
        max_backoff_s: float = 30.0,
        close_timeout_s: float = 5.0,
        max_queue: int = 100_000,
        settings: Settings | None = None,
    ) -> None:
        settings = settings or Settings.from_env()
        self.base_url = check_url(base_url or settings.sidecar_url, "base_url")
        self.api_key = api_key or settings.api_key
        self.site_id = settings.site_id
        if spool_path:
            self.spool = Spool(Path(spool_path))
        else:
            url = self.base_url
            self.spool = Spool(settings.spool_path(url), legacy=settings.legacy_spool_path(url))
        if batch_size < 1 or timeout_s <= 0 or retries < 0 or close_timeout_s < 0:
            raise ValueError("batch_size >= 1, timeout_s > 0, retries >= 0 and close_timeout_s >= 0 required")
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.close_timeout_s = close_timeout_s
        self.stats = EmitterStats()
        self.max_queue = max_queue
        self._pending: deque[dict[str, Any]] = deque()  # emitted, not yet taken by the sender
        self._session = requests.Session()
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight: list[dict[str, Any]] = []  # the batch the sender holds
        self._abandoned = False  # close() gave up waiting and spooled the sender's batch itself
        self._closed = False
        self._retry_at = 0.0  # monotonic time before which the bridge is not tried again
        self._failures = 0
        self._auth_logged = False  # the ERROR about the key is logged once until a delivery succeeds

    # -- caller side ---------------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Queue `event` for sending; never raises for delivery problems and never waits on the network."""
        body = event.to_json()
        if self._closed:
            self._spool_events([body], force=True)
            return
        self._ensure_thread()
        with self._lock:
            if len(self._pending) >= self.max_queue:
                self.stats.dropped += 1
                log.warning("monitoring_sdk: event queue full, event %s dropped", body["event_id"])
                return
            self._pending.append(body)
            self._lock.notify()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every event emitted so far is delivered or spooled; False when `timeout_s` ran out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                idle = not self._pending and not self._inflight
            if idle:
                return True
            time.sleep(0.01)
        return False

    def close(self, timeout_s: float | None = None) -> None:
        """Send or spool what is queued, within `timeout_s` (default `close_timeout_s`); idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        with self._lock:
            self._stop.set()
            self._lock.notify()
        if self._thread is not None:
            self._thread.join(self.close_timeout_s if timeout_s is None else timeout_s)
        with self._lock:
            # A sender stuck in a request gives up its batch: it goes to disk first, then the rest.
            self._abandoned = True
            left = [*self._inflight, *self._pending]
            self._pending.clear()
        if left:  # keep the rest on disk for the next run
            self._spool_events(left, force=True)
        self._session.close()
        self.spool.close()

    def __enter__(self) -> SidecarEmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="monitoring-sdk-sender", daemon=True)
                self._thread.start()
                atexit.register(self.close)

    # -- sender thread -------------------------------------------------------------------------------

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

        Taking and marking in flight is one step under the lock, so close() always sees every event.
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
                self._post(batch)
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
                self._post(events)
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

    def _post(self, events: list[dict[str, Any]]) -> None:
        headers = {"x-api-key": self.api_key} if self.api_key else {}
        try:
            response = self._session.post(
                self.base_url + BATCH_PATH, json={"events": events}, headers=headers, timeout=self.timeout_s
            )
        except requests.RequestException as exc:
            raise DeliveryError(f"{BATCH_PATH}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code < 300:
            return
        raise DeliveryError(
            f"{BATCH_PATH}: HTTP {response.status_code}: {response.text[:500]}",
            failure=classify(response.status_code),
            retry_after=retry_after_s(response.headers, self.max_backoff_s),
        )

    def _spool_events(self, events: list[dict[str, Any]], *, force: bool = False) -> None:
        """Append to the spool; the sender's own batch stops being in flight in the same step."""
        if not events:
            return
        with self._lock:
            if self._abandoned and not force:
                return  # close() gave up on the sender and has spooled its batch already
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
                self.base_url,
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
            self._inflight = []  # delivered: close() must not spool them again
            self.stats.sent += count
