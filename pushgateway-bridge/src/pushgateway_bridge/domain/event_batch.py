"""Events as outbox rows of many: a sidecar request's, encoded once by the route, and the other APIs' of one
commit (`committed`, storage/base.py); `expanded` makes them into neutral events for the forwarder that
delivers them.

As one neutral event (`events.py`) and one outbox row each, a batch of 100 events cost the bridge half its
throughput (bench/README.md, ninth round): 100 dicts of fields, 100 JSON encodings, 100 rows to write, read
and delete, all in the process whose GIL every request needs. Here the batch is one row, its events the
JSON text pydantic-core makes from the validated models in one call; `expanded` gives the sinks the same
events `event_log.py` makes for the other APIs. This module imports no models: the delivery process expands
batches without loading pydantic's.

A sidecar row: {"sidecar_events": [event, ...], "event_ids": [...], "received": seconds}, each event as
validated (its None fields left out) and its id, the client's or the bridge's, in `event_ids`; with a
local_api integration, "originals": the events as their clients sent them, each with its id. A commit's
row: {"events": [event, ...]}, the neutral events themselves. One row a heartbeat cost the scheduler load
4 % of its requests/s (bench/README.md, ninth round).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from pushgateway_bridge.domain.events import Event
from pushgateway_bridge.jsontext import Encoded, compact

SIDECAR = "sidecar_events"  # the key of a sidecar row
COMMITTED = "events"  # the key of a commit's row


def encoded(events_json: bytes, event_ids: list[str], now: float, originals: list[Any] | None) -> Encoded:
    """The row of `events_json` (a JSON array of the validated events, without None fields) with their ids."""
    rest: dict[str, Any] = {"event_ids": event_ids, "received": now}
    if originals is not None:
        rest["originals"] = originals
    # The events' text goes in as pydantic-core made it: decoded and encoded again it would cost the
    # dicts this item exists to save.
    return Encoded(f'{{"{SIDECAR}":{events_json.decode()},{compact(rest)[1:]}')


def committed(events: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The neutral events of one commit's requests, as one outbox row (storage/base.py `outbox_rows`)."""
    return {COMMITTED: events}


def expanded(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`payloads` with each batch (a sidecar request's, or a commit's) replaced by its events, in order;
    anything else as it is."""
    if not any(SIDECAR in payload or COMMITTED in payload for payload in payloads):
        return payloads
    out: list[dict[str, Any]] = []
    for payload in payloads:
        if SIDECAR in payload:
            out.extend(cast(list[dict[str, Any]], events_of(payload)))
        elif COMMITTED in payload:
            out.extend(payload[COMMITTED])
        else:
            out.append(payload)
    return out


def events_of(batch: dict[str, Any]) -> list[Event]:
    """The batch's neutral events: what `event_log.py` would make of each sidecar event."""
    received: float = batch["received"]
    originals: list[dict[str, Any]] | None = batch.get("originals")
    made: list[Event] = []
    for index, (sidecar, event_id) in enumerate(zip(batch[SIDECAR], batch["event_ids"], strict=True)):
        # A copy: a forwarder that retries a step item by item expands the same payloads again.
        fields = dict(sidecar)
        fields.pop("event_id", None)  # the event's own id and time are the event's, not its fields
        timestamp: str | None = fields.pop("timestamp", None)
        kind: str = fields["kind"]
        event: Event = {
            "event_id": event_id,
            "source": "sidecar",
            "kind": kind,
            "name": fields["app"]["name"],
            "level": "error" if kind == "failed" else "info",
            "received": received,
            "fields": fields,
        }
        if timestamp is not None:
            event["at"] = datetime.fromisoformat(timestamp).timestamp()
        trace_id = fields.get("trace_id")
        if trace_id:
            event["trace_id"] = str(trace_id)
        if originals is not None:
            event["original"] = originals[index]
        made.append(event)
    return made
