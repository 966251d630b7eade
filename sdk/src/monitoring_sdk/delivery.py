"""One batch of events POSTed to the bridge's `/v1/events/batch`, and what its failure means.

This module alone speaks the batch API's wire format; which failures are worth sending again is
`transport.classify`, the one rule every client of this SDK follows.
"""

from __future__ import annotations

from typing import Any

import requests

from monitoring_sdk.transport import Failure, classify, retry_after_s

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


class BatchPoster:
    """POST event batches to the bridge at `base_url` over one kept-alive session; one try per call."""

    def __init__(self, base_url: str, api_key: str | None, *, timeout_s: float, max_backoff_s: float) -> None:
        self.base_url = base_url
        self.url = base_url + BATCH_PATH
        self.timeout_s = timeout_s
        self.max_backoff_s = max_backoff_s
        self._headers = {"x-api-key": api_key} if api_key else {}
        self._session = requests.Session()

    def post(self, events: list[dict[str, Any]]) -> None:
        """Deliver `events` (their JSON form) or raise DeliveryError saying whether to send them again."""
        try:
            response = self._session.post(
                self.url, json={"events": events}, headers=self._headers, timeout=self.timeout_s
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

    def close(self) -> None:
        self._session.close()
