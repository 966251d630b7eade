"""An outbox event as a JSON document for other systems (the webhook body, the `json` export's lines).

Times are RFC 3339 in UTC; `timestamp` (the client's own time) and `trace_id` appear only when the event
has them; `fields` is the request's own data, unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pushgateway_bridge.domain.events import iso


def document(event: Mapping[str, Any]) -> dict[str, Any]:
    made: dict[str, Any] = {
        "event_id": event["event_id"],
        "source": event["source"],
        "kind": event["kind"],
        "name": event["name"],
        "level": event["level"],
        "received": iso(event["received"]),
    }
    if event.get("at") is not None:
        made["timestamp"] = iso(event["at"])
    if event.get("trace_id"):
        made["trace_id"] = event["trace_id"]
    made["fields"] = event["fields"]
    return made
