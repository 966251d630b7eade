"""Which HTTP failures are worth sending again (one rule for every client of this SDK), and the retry policy.

- Transient (send again later, with backoff): no answer at all (connection refused or reset, timeout), or
  408, 425, 429, 500, 502, 503 and 504.
- Auth (401, 403): the key is missing or wrong. Sending the same request again cannot succeed until a person
  fixes the configuration; the emitter keeps such events spooled and tries again with backoff, the thin
  clients raise.
- Permanent: every other status >= 400, 501 included (the server does not implement this and will not later).

A `Retry-After` on 429 or 503 is honoured, up to the caller's longest backoff.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping

from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# The transient answers that also say the request was not acted on: safe to resend when it is not idempotent.
REFUSED_STATUSES = frozenset({408, 425, 429, 503})
AUTH_STATUSES = frozenset({401, 403})
RETRY_AFTER_STATUSES = frozenset({429, 503})
# POST too: the SDK's POSTs are idempotent (event ids, upserts), except the paths a client names otherwise.
RETRIED_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST"})


class Failure(enum.Enum):
    TRANSIENT = "transient"
    AUTH = "auth"
    PERMANENT = "permanent"


def classify(status: int | None) -> Failure:
    """What a failed request's `status` (None: no answer came) means for sending it again."""
    if status is None or status in TRANSIENT_STATUSES:
        return Failure.TRANSIENT
    if status in AUTH_STATUSES:
        return Failure.AUTH
    return Failure.PERMANENT


class _Retry(Retry):
    """urllib3's Retry, with Retry-After read on 429 and 503 only (not 413: one rule) and capped."""

    RETRY_AFTER_STATUS_CODES = RETRY_AFTER_STATUSES

    def get_retry_after(self, response: object) -> float | None:
        headers = getattr(response, "headers", None)
        return retry_after_s(headers or {}, self.backoff_max)


def retry_policy(retries: int, backoff_s: float, max_backoff_s: float, *, idempotent: bool = True) -> Retry:
    """Retries for a `requests` session (`HTTPAdapter(max_retries=...)`), with jitter and Retry-After.

    A request that is not `idempotent` is resent only when it cannot have been acted on: when it was never
    sent (connection errors) or the server refused it (REFUSED_STATUSES); never after a read error.
    """
    return _Retry(
        total=retries,
        read=None if idempotent else 0,
        status_forcelist=TRANSIENT_STATUSES if idempotent else REFUSED_STATUSES,
        allowed_methods=RETRIED_METHODS,
        backoff_factor=backoff_s,
        backoff_jitter=backoff_s,
        backoff_max=max_backoff_s,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer goes back to the caller, who raises with its detail
    )


def retry_after_s(headers: Mapping[str, str], cap_s: float) -> float | None:
    """The answer's Retry-After in seconds (delay or HTTP date), at most `cap_s`; None if absent or bad."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = _PARSER.parse_retry_after(value)
    except InvalidHeader:
        return None
    return min(seconds, cap_s)


def backoff_s(base_s: float, failures: int, cap_s: float) -> float:
    """Exponential backoff with jitter: between half and all of `base_s * 2**failures`, at most `cap_s`.

    The jitter spreads many processes that lost the same server apart, so they do not all come back at once.
    """
    ceiling: float = min(cap_s, base_s * 2 ** min(failures, 32))
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311  (timing, not security)


_PARSER = Retry()
