"""What an accepted request becomes besides state: an event, as the outbox keeps it for the event sinks.

An event is neutral: who, what, when and the request's own fields, in no downstream's shape. The sinks
shape it: `sinks/loki.py` into a Loki entry (stream labels, nanosecond time, structured metadata), and
`sinks/events_file.py` into a JSON line. Which fields and level each request gives is in `event_log.py`.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict

EVENTS = "loki"  # the event sinks' outbox downstream (Loki, or the events file without a loki_url)


class Event(TypedDict):
    event_id: str  # a random UUID, or the client's (the sidecar API's event_id)
    source: str  # the API part: service, pipeline, alert, scheduler, heartbeat's scheduler, sidecar, notify
    kind: str  # what happened: status, metric, register, started, ...
    name: str  # whose: the service, pipeline type, scheduler's service, sidecar app or notify target
    level: str  # debug, info, warn, error
    received: float  # Unix seconds
    at: NotRequired[float]  # the event's own time, when the client gave one
    trace_id: NotRequired[str]  # the W3C trace the event belongs to, when the client gave one
    # The sidecar event as its client sent it, only while a local_api integration forwards it unchanged
    # (domain/event_batch.py); the other sinks leave it out.
    original: NotRequired[dict[str, Any]]
    fields: dict[str, Any]  # the request's own data, JSON


class _EventIds:
    """Random (version 4) UUID strings, made 256 at a time from one os.urandom call: uuid.uuid4() makes
    one getrandom call per id, and each lets go of the GIL, which under load meant waiting to get it back.
    list.pop is atomic, so threads may share it; two refilling at once only draw twice."""

    IDS_PER_DRAW = 256

    def __init__(self) -> None:
        self.ready: list[str] = []

    def __call__(self) -> str:
        try:
            return self.ready.pop()
        except IndexError:
            self.ready.extend(self._draw())
            return self.ready.pop()

    def _draw(self) -> list[str]:
        pool = bytearray(os.urandom(16 * self.IDS_PER_DRAW))
        ids = []
        for start in range(0, len(pool), 16):
            pool[start + 6] = (pool[start + 6] & 0x0F) | 0x40  # version 4
            pool[start + 8] = (pool[start + 8] & 0x3F) | 0x80  # RFC 4122 variant
            h = pool[start : start + 16].hex()
            ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
        return ids


new_event_id = _EventIds()
os.register_at_fork(after_in_child=new_event_id.ready.clear)  # a child must not reuse the parent's ids


def event(
    *,
    source: str,
    kind: str,
    name: str,
    now: float,
    fields: dict[str, Any],
    level: str = "info",
    at: float | None = None,
    event_id: str | None = None,
) -> Event:
    made: Event = {
        "event_id": event_id or new_event_id(),
        "source": source,
        "kind": kind,
        "name": name,
        "level": level,
        "received": now,
        "fields": fields,
    }
    if at is not None:
        made["at"] = at
    trace_id = fields.get("trace_id")
    if trace_id:
        made["trace_id"] = str(trace_id)
    return made


@functools.lru_cache(maxsize=256)  # a batch formats the same `now` for each of its events
def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
