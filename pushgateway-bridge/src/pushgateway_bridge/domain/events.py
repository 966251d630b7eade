"""What an accepted request becomes besides state: a log line and, for alerts, an Alertmanager alert."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

LOKI_MAX_AGE_SECONDS = 167 * 3600  # Loki rejects entries older than 168 h
LOKI_MAX_FUTURE_SECONDS = 9 * 60  # ... and more than 10 minutes ahead


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
    event_id = event_id or str(uuid.uuid4())
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
        "line": json.dumps(line, default=str, separators=(",", ":")),
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


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
