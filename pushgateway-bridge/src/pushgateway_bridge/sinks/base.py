"""The one error type every sink raises: retries happen in the forwarder, never for permanent errors."""

from __future__ import annotations

import httpx


class SinkError(Exception):
    def __init__(self, message: str, permanent: bool = False, kind: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.kind = kind  # the `kind` label of bridge_forward_errors_total


def check_response(response: httpx.Response, what: str) -> None:
    """Raise SinkError for a failed answer: 429 and 5xx may be retried, other 4xx are permanent."""
    if response.is_success:
        return
    status = response.status_code
    body = response.text[:500].strip()
    permanent = 400 <= status < 500 and status not in (408, 425, 429)
    raise SinkError(
        f"{what}: HTTP {status}: {body}",
        permanent=permanent,
        kind="rejected" if permanent else f"http_{status}",
    )


def transport_error(exc: httpx.HTTPError, what: str) -> SinkError:
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable"
    return SinkError(f"{what}: {type(exc).__name__}: {exc}", permanent=False, kind=kind)
