"""What every channel shares: the message, the channel protocol and the one transport error type.

Which failures are worth sending again is the bridge's one rule (`sinks/base.py`): no answer and
408/425/429/5xx (but 501) are transient; 401/403 mean the channel's credentials are refused (kept and
retried with backoff: `kind="auth"`, not permanent); every other status >= 400 is permanent. A channel whose
service answers errors in its own terms (Slack's `{"ok": false}`, SMTP reply codes) maps them onto the
same three outcomes in its module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol, get_args

import httpx

from pushgateway_bridge.sinks.base import SinkError, classify, describe, no_answer_kind

Priority = Literal["info", "warning", "critical"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
RETRY_AFTER_STATUSES = frozenset({429, 503})  # the answers whose Retry-After means "send again then"


class TransportError(SinkError):
    """A failed send. `permanent`: sending the same message to the same address again cannot succeed.

    A SinkError, so the forwarder retries, counts and dead-letters it like any sink's error. `retry_after`
    is the seconds the service asked us to wait (Retry-After), if it said."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None, kind: str = ""
    ) -> None:
        super().__init__(message, permanent=permanent, kind=kind or ("rejected" if permanent else "error"))
        self.retry_after = retry_after


@dataclass(frozen=True, kw_only=True)
class Message:
    """One notification to one user, neutral: each channel renders it in its own format."""

    notification_id: str  # stable across retries: receivers deduplicate on it
    subject: str
    text: str
    priority: Priority = "info"
    user_id: str | None = None
    link: str | None = None  # where the reader can see more (a dashboard, a run)
    data: Mapping[str, Any] = field(default_factory=dict)  # JSON values, passed on by the webhook channel

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}, not {self.priority!r}")
        if not self.notification_id:
            raise ValueError("notification_id must not be empty")
        if not (self.subject or self.text):
            raise ValueError("a message needs a subject or a text")

    def line(self) -> str:
        """Subject and text on one line, for the channels that show a single text."""
        return ": ".join(part for part in (self.subject, self.text) if part)


class Channel(Protocol):
    name: str

    def send(self, message: Message, address: str) -> None:
        """Deliver `message` to `address` (an email address, a phone number, a target name...) or raise
        TransportError."""
        ...

    def close(self) -> None: ...


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait an answer's Retry-After asks for (seconds or an HTTP date), None if it names none."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def check_answer(response: httpx.Response, what: str) -> None:
    """Raise TransportError for a failed HTTP answer, permanent or not by the bridge's rule."""
    if response.is_success:
        return
    permanent, kind = classify(response.status_code)
    retry_after = retry_after_seconds(response) if response.status_code in RETRY_AFTER_STATUSES else None
    raise TransportError(describe(response, what), permanent=permanent, kind=kind, retry_after=retry_after)


def no_answer(exc: httpx.HTTPError, what: str) -> TransportError:
    """No answer (refused, reset, timed out): transient."""
    return TransportError(f"{what}: {type(exc).__name__}: {exc}", kind=no_answer_kind(exc))


def cut(text: str, max_length: int) -> str:
    """`text`, or its start and an ellipsis, in at most `max_length` characters."""
    return text if len(text) <= max_length else text[: max_length - 1] + "…"


def require_http_url(what: str, url: str) -> str:
    """`url` if it is an absolute http(s) URL, else a ValueError naming `what` (a configuration error)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise ValueError(f"{what}: not a URL") from None
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise ValueError(f"{what}: must be an http:// or https:// URL")
    return url


def post(client: httpx.Client, url: str, what: str, **request: Any) -> httpx.Response:
    """POST and check the answer: the one way every HTTP channel sends."""
    try:
        response = client.post(url, **request)
    except httpx.HTTPError as exc:
        raise no_answer(exc, what) from None
    check_answer(response, what)
    return response
