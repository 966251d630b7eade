"""What the thin clients share: one session, timeouts, retries with backoff, one error type."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests

from monitoring_sdk.settings import check_url

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class ApiError(Exception):
    """A request failed; `status` is None when no answer came. `permanent` errors are not retried."""

    def __init__(self, message: str, *, status: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail

    @property
    def permanent(self) -> bool:
        return self.status is not None and self.status not in TRANSIENT_STATUSES


class ApiClient:
    """JSON over HTTP to `base_url` with `headers`; transient failures retried `retries` times."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        timeout_s: float = 5.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = check_url(base_url, "base_url")
        self.headers = {"Content-Type": "application/json", **headers}
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.session = session or requests.Session()

    def request(self, method: str, path: str, body: Mapping[str, Any]) -> Any:
        """Send `body` as JSON; return the decoded answer (None when empty) or raise ApiError."""
        for attempt in range(self.retries + 1):
            try:
                return self._once(method, path, body)
            except ApiError as exc:
                if exc.permanent or attempt == self.retries:
                    raise
                time.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, path: str, body: Mapping[str, Any]) -> Any:
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
