"""The one error type every sink raises: retries happen in the forwarder, never for permanent errors.

The bridge's one rule for which answers are worth sending again (the SDK's `transport.py` has the same),
for the sinks and the notification channels (`channels/base.py`) alike:
- transient, retried with backoff: no answer, 408, 425, 429, 500, 502, 503, 504;
- 401 and 403: the downstream refuses the bridge's credentials. Retrying cannot help until a person fixes
  the configuration, but dropping would lose accepted events: they stay in the outbox, retried with backoff,
  and count as `kind="auth"` errors;
- permanent, dead-lettered at once: every other status >= 400, 501 included.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import urllib3

if TYPE_CHECKING:  # the delivery process, on urllib3 only, does without httpx (sinks/http_endpoint.py)
    import httpx


class SinkError(Exception):
    def __init__(self, message: str, permanent: bool = False, kind: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.kind = kind  # the `kind` label of bridge_forward_errors_total


TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})


def classify(status: int) -> tuple[bool, str]:
    """(permanent, kind) of a failed answer with HTTP `status`, by the rule above."""
    if status in AUTH_STATUSES:
        return False, "auth"
    if status in TRANSIENT_STATUSES:
        return False, f"http_{status}"
    return True, "rejected"


def describe(response: httpx.Response, what: str) -> str:
    return _described(response.status_code, response.text, what)


def _described(status: int, text: str, what: str) -> str:
    hint = " (check the bridge's credentials for it)" if status in AUTH_STATUSES else ""
    return f"{what}: HTTP {status}{hint}: {text[:500].strip()}"


def check_response(response: httpx.Response, what: str) -> None:
    """Raise SinkError for a failed answer, permanent or not by the rule above."""
    check_status(response.status_code, response.text, what)


def check_status(status: int, text: str, what: str) -> None:
    """check_response for a client other than httpx: the answer's status and text."""
    if 200 <= status < 300:
        return
    permanent, kind = classify(status)
    raise SinkError(_described(status, text, what), permanent=permanent, kind=kind)


def no_answer_kind(exc: Exception) -> str:
    # urllib3's NewConnectionError (refused, no route) is a subclass of its ConnectTimeoutError.
    refused = isinstance(exc, urllib3.exceptions.NewConnectionError)
    loaded = sys.modules.get("httpx")  # an httpx error comes only from a process that imported httpx
    timeouts = (urllib3.exceptions.TimeoutError, *((loaded.TimeoutException,) if loaded else ()))
    timeout = isinstance(exc, timeouts) and not refused
    return "timeout" if timeout else "unreachable"


def transport_error(exc: Exception, what: str) -> SinkError:
    return SinkError(f"{what}: {type(exc).__name__}: {exc}", permanent=False, kind=no_answer_kind(exc))
