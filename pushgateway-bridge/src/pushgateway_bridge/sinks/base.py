"""The one error type every sink raises: retries happen in the forwarder, never for permanent errors.

The bridge's one rule for which answers are worth sending again (the SDK's `transport.py` has the same):
- transient, retried with backoff: no answer, 408, 425, 429, 500, 502, 503, 504;
- 401 and 403: the downstream refuses the bridge's credentials. Retrying cannot help until a person fixes
  the configuration, but dropping would lose accepted events: they stay in the outbox, retried with backoff,
  and count as `kind="auth"` errors;
- permanent, dead-lettered at once: every other status >= 400, 501 included.
"""

from __future__ import annotations

import httpx


class SinkError(Exception):
    def __init__(self, message: str, permanent: bool = False, kind: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.kind = kind  # the `kind` label of bridge_forward_errors_total


TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})


def check_response(response: httpx.Response, what: str) -> None:
    """Raise SinkError for a failed answer, permanent or not by the rule above."""
    if response.is_success:
        return
    status = response.status_code
    body = response.text[:500].strip()
    if status in AUTH_STATUSES:
        raise SinkError(f"{what}: HTTP {status} (check the bridge's credentials for it): {body}", kind="auth")
    permanent = status not in TRANSIENT_STATUSES
    raise SinkError(
        f"{what}: HTTP {status}: {body}",
        permanent=permanent,
        kind="rejected" if permanent else f"http_{status}",
    )


def transport_error(exc: httpx.HTTPError, what: str) -> SinkError:
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable"
    return SinkError(f"{what}: {type(exc).__name__}: {exc}", permanent=False, kind=kind)
