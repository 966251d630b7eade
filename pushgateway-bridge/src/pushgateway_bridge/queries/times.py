"""The time window of a log or trace query: `start` and `end` as RFC 3339 or Unix seconds, checked once.

Loki and Tempo refuse a window that is empty, reversed or longer than their limit with a 400; the bridge
says so first, naming the parameter, so a caller gets a 422 it can act on instead of a downstream's error.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from pushgateway_bridge.domain.models.fields import RFC3339

NS = 1_000_000_000
DEFAULT_WINDOW_NS = 3600 * NS  # the last hour, as Loki's and Tempo's own default
UNIX_SECONDS = re.compile(r"[0-9]{1,11}(\.[0-9]{1,9})?")
# Years 1970..9999: what RFC 3339 can write and a Unix time in nanoseconds can hold.
MAX_NS = 253402300799 * NS


class BadTime(ValueError):
    """A time parameter that cannot be read, or a window Loki or Tempo would refuse; `param` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def parse_instant(param: str, text: str) -> int:
    """`text` (RFC 3339 with a zone, or Unix seconds with up to 9 decimals) as Unix nanoseconds."""
    if UNIX_SECONDS.fullmatch(text):
        whole, _, fraction = text.partition(".")
        ns = int(whole) * NS + int(fraction.ljust(9, "0") or 0)
    elif RFC3339.fullmatch(text):
        ns = _rfc3339_ns(param, text)
    else:
        raise BadTime(param, "must be an RFC 3339 time with a zone (2024-01-15T01:00:00Z) or Unix seconds")
    if ns > MAX_NS:
        raise BadTime(param, "is after the year 9999")
    return ns


def _rfc3339_ns(param: str, text: str) -> int:
    head, dot, rest = text.partition(".")
    fraction = ""
    if dot:
        digits = re.match(r"[0-9]+", rest)
        assert digits is not None  # RFC3339 requires digits after the dot
        fraction, zone = digits.group(), rest[digits.end() :]
        text = head + zone
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    except ValueError as exc:
        raise BadTime(param, f"is not a valid time: {exc}") from None
    seconds = int(moment.astimezone(UTC).timestamp())
    if seconds < 0:
        raise BadTime(param, "is before 1970")
    return seconds * NS + int(fraction[:9].ljust(9, "0") or 0)


@dataclass(frozen=True)
class Window:
    start_ns: int
    end_ns: int

    @property
    def start_seconds(self) -> int:
        return self.start_ns // NS

    @property
    def end_seconds(self) -> int:
        """Rounded up, so a window in whole seconds still holds everything up to `end`."""
        return -(-self.end_ns // NS)


def window(start: str | None, end: str | None, max_ns: int, now_ns: int | None = None) -> Window:
    """The window [start, end): `end` defaults to now, `start` to an hour before `end`."""
    end_ns = parse_instant("end", end) if end is not None else (now_ns or time.time_ns())
    start_ns = parse_instant("start", start) if start is not None else max(0, end_ns - DEFAULT_WINDOW_NS)
    if end_ns <= start_ns:
        raise BadTime("end", "must be after start")
    if end_ns - start_ns > max_ns:
        raise BadTime("start", f"the window from start to end is longer than {max_ns // NS // 3600} h")
    return Window(start_ns, end_ns)


def rfc3339_ns(ns: int) -> str:
    """Unix nanoseconds as RFC 3339 in UTC, with all nine decimals."""
    seconds, rest = divmod(ns, NS)
    base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{rest:09d}Z"  # fixed width: the text sorts as the time does
