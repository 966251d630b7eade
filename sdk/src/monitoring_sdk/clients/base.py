"""What the thin clients share: one session with urllib3's Retry (jitter, Retry-After), one error type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import requests
from requests.adapters import HTTPAdapter

from monitoring_sdk.settings import check_url
from monitoring_sdk.transport import Failure, classify, retry_policy


class ApiError(Exception):
    """A request failed; `status` is None when no answer came. `permanent` errors are not retried."""

    def __init__(self, message: str, *, status: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail

    @property
    def permanent(self) -> bool:
        """True unless sending again later could succeed (a 401/403 needs a configuration change first)."""
        return classify(self.status) is not Failure.TRANSIENT


class ApiClient:
    """JSON over HTTP to `base_url` with `headers`; transient failures retried `retries` times.

    Retries are urllib3's (`transport.retry_policy`), mounted on the session for `base_url`: exponential
    backoff from `backoff_s` with jitter, a `Retry-After` on 429/503 honoured up to `max_backoff_s`.
    """

    # Paths of requests that are not idempotent (each one counts): resent only if the server cannot have
    # acted on them (never sent, or refused with 408/425/429/503).
    not_idempotent: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        timeout_s: float = 5.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        if retries < 0 or backoff_s < 0 or max_backoff_s < 0 or timeout_s <= 0:
            raise ValueError("retries >= 0, backoff_s >= 0, max_backoff_s >= 0 and timeout_s > 0 required")
        self.base_url = check_url(base_url, "base_url")
        self.headers = {"Content-Type": "application/json", **headers}
        self.timeout_s = timeout_s
        self.retries = retries
        self.session = session or requests.Session()
        policy = retry_policy(retries, backoff_s, max_backoff_s)
        self.session.mount(self.base_url + "/", HTTPAdapter(max_retries=policy))
        once = retry_policy(retries, backoff_s, max_backoff_s, idempotent=False)
        for path in self.not_idempotent:  # requests picks the adapter with the longest matching prefix
            self.session.mount(self.base_url + path, HTTPAdapter(max_retries=once))

    def request(self, method: str, path: str, body: Mapping[str, Any]) -> Any:
        """Send `body` as JSON; return the decoded answer (None when empty) or raise ApiError."""
        where = f"{method} {path}"
        try:
            response = self.session.request(
                method, self.base_url + path, json=dict(body), headers=self.headers, timeout=self.timeout_s
            )
        except requests.RequestException as exc:
            raise ApiError(f"{where}: {exc.__class__.__name__}: {exc}") from exc
        try:
            answer = response.json() if response.content else None
        except ValueError:
            answer = response.text
        if response.status_code >= 400:
            detail = answer.get("detail", answer) if isinstance(answer, dict) else answer
            raise ApiError(
                f"{where}: HTTP {response.status_code}: {detail}", status=response.status_code, detail=detail
            )
        return answer

    def close(self) -> None:
        self.session.close()
