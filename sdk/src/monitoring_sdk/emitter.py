"""`SidecarEmitter`: events to the bridge in batches from a background thread; a spool file when it is down.

The user's thread only appends events to an in-memory queue; the sender thread (`sender.py`) posts them in
batches to `/v1/events/batch` (`delivery.py`), retries transient failures (`transport.classify`) with
backoff, and spools what it cannot deliver (`spool.py`), keeping the order of events. `close()` (also at
exit) is bounded by `close_timeout_s`: what the sender could not deliver by then is spooled, in order.
"""

from __future__ import annotations

import atexit
import time
from pathlib import Path

from monitoring_sdk.delivery import BATCH_PATH, BatchPoster, DeliveryError
from monitoring_sdk.models import Event
from monitoring_sdk.sender import EmitterStats, Sender
from monitoring_sdk.settings import Settings, check_url
from monitoring_sdk.spool import Spool

__all__ = ["BATCH_PATH", "DeliveryError", "EmitterStats", "SidecarEmitter"]


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
        self.site_id = settings.site_id
        if spool_path:
            self.spool = Spool(Path(spool_path))
        else:
            url = self.base_url
            self.spool = Spool(settings.spool_path(url), legacy=settings.legacy_spool_path(url))
        if batch_size < 1 or timeout_s <= 0 or retries < 0 or close_timeout_s < 0:
            raise ValueError("batch_size >= 1, timeout_s > 0, retries >= 0 and close_timeout_s >= 0 required")
        self.close_timeout_s = close_timeout_s
        self.stats = EmitterStats()
        poster = BatchPoster(
            self.base_url, api_key or settings.api_key, timeout_s=timeout_s, max_backoff_s=max_backoff_s
        )
        self._sender = Sender(
            poster,
            self.spool,
            self.stats,
            batch_size=batch_size,
            flush_interval_s=flush_interval_s,
            retries=retries,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            max_queue=max_queue,
        )
        self._closed = False

    def emit(self, event: Event) -> None:
        """Queue `event` for sending; never raises for delivery problems and never waits on the network."""
        body = event.to_json()
        if self._closed:
            self._sender.spool_now([body])
            return
        if self._sender.start():
            atexit.register(self.close)
        self._sender.put(body)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every event emitted so far is delivered or spooled; False when `timeout_s` ran out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._sender.idle():
                return True
            time.sleep(0.01)
        return False

    def close(self, timeout_s: float | None = None) -> None:
        """Send or spool what is queued, within `timeout_s` (default `close_timeout_s`); idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        self._sender.stop(self.close_timeout_s if timeout_s is None else timeout_s)
        self.spool.close()

    def __enter__(self) -> SidecarEmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
