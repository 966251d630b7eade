"""What an accepted request becomes besides state: a log line and, for alerts, an Alertmanager alert."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

from pushgateway_bridge.jsontext import compact

LOKI_MAX_AGE_SECONDS = 167 * 3600  # Loki rejects entries older than 168 h
LOKI_MAX_FUTURE_SECONDS = 9 * 60  # ... and more than 10 minutes ahead


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


def log_record(
    *,
    source: str,
    kind: str,
    name: str,
    now: float,
    level: str = "info",
    at: float | None = None,
    event_id: str | None = None,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """An outbox payload for the log sink: stream labels (low cardinality), ns timestamp, JSON line."""
    event_id = event_id or new_event_id()
    # The entry's time is the event's when Loki would accept it, else the time it was received.
    entry_time = at if at is not None and -LOKI_MAX_AGE_SECONDS < at - now < LOKI_MAX_FUTURE_SECONDS else now
    name_label = "app" if source == "sidecar" else "service"
    line = {
        "event_id": event_id,
        "source": source,
        "kind": kind,
        "received": iso(now),
        **({"timestamp": iso(at)} if at is not None else {}),
        **fields,
    }
    metadata = {"event_id": event_id}
    trace_id = fields.get("trace_id")
    if trace_id:
        metadata["trace_id"] = str(trace_id)
    return {
        "labels": {"source": source, "kind": kind, name_label: name, "level": level},
        "ts_ns": str(int(entry_time * 1e9)),
        "line": compact(line),
        "metadata": metadata,
    }


def alert_payload(
    *,
    alertname: str,
    labels: dict[str, str],
    summary: str,
    description: str,
    now: float,
    resolve_after: float,
) -> dict[str, Any]:
    """An Alertmanager v2 alert. endsAt lies ahead so the alert resolves by itself if never re-posted."""
    return {
        "labels": {"alertname": alertname, **labels, "source": "bridge"},
        "annotations": {"summary": summary, "description": description},
        "startsAt": iso(now),
        "endsAt": iso(now + resolve_after),
    }


@functools.lru_cache(maxsize=256)  # a batch formats the same `now` for each of its events
def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
