"""Loki push API: each outbox event becomes an entry, entries grouped into streams by their labels and
sorted by time within a stream.

An entry's stream labels are few (source, kind, whose, level: Loki indexes them); the rest of the event is
the JSON line; its id (and trace id) are structured metadata, which needs Loki's schema v13.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, cast

import httpx

from pushgateway_bridge.domain.events import Event, iso
from pushgateway_bridge.jsontext import compact
from pushgateway_bridge.sinks.base import check_response, transport_error

MAX_AGE_SECONDS = 167 * 3600  # Loki rejects entries older than 168 h
MAX_FUTURE_SECONDS = 9 * 60  # ... and more than 10 minutes ahead


class Entry(NamedTuple):
    labels: dict[str, str]
    ts_ns: str  # nanoseconds since the epoch, as a string
    line: str
    metadata: dict[str, str]


def entry(payload: Mapping[str, Any]) -> Entry:
    """The Loki entry of an outbox event. Items bridge 0.1.0 stored are Loki entries already (labels, ts_ns,
    line, metadata), so an outbox kept across the upgrade is sent as it was stored."""
    if "ts_ns" in payload:
        return Entry(payload["labels"], payload["ts_ns"], payload["line"], payload.get("metadata") or {})
    event = cast(Event, payload)
    received = event["received"]
    at = event.get("at")
    line = {
        "event_id": event["event_id"],
        "source": event["source"],
        "kind": event["kind"],
        "received": iso(received),
        **({"timestamp": iso(at)} if at is not None else {}),
        **event["fields"],
    }
    # The entry's time is the event's when Loki would accept it, else the time it was received.
    entry_time = at if at is not None and -MAX_AGE_SECONDS < at - received < MAX_FUTURE_SECONDS else received
    name_label = "app" if event["source"] == "sidecar" else "service"
    labels = {
        "source": event["source"],
        "kind": event["kind"],
        name_label: event["name"],
        "level": event["level"],
    }
    metadata = {"event_id": event["event_id"]}
    trace_id = event.get("trace_id")
    if trace_id:
        metadata["trace_id"] = trace_id
    return Entry(labels, str(int(entry_time * 1e9)), compact(line), metadata)


def push_body(payloads: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    streams: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], list[list[Any]]]] = {}
    for payload in payloads:
        labels, ts_ns, line, metadata = entry(payload)
        ident = tuple(sorted(labels.items()))  # a stream is a label set
        value: list[Any] = [ts_ns, line, metadata] if metadata else [ts_ns, line]
        streams.setdefault(ident, (labels, []))[1].append(value)
    return {
        "streams": [
            {"stream": labels, "values": sorted(values, key=lambda value: int(value[0]))}
            for labels, values in streams.values()
        ]
    }


class LokiSink:
    downstream = "loki"

    def __init__(self, url: str, tenant: str | None, timeout: float) -> None:
        self.url = url.rstrip("/") + "/loki/api/v1/push"
        self.headers = {"X-Scope-OrgID": tenant} if tenant else {}
        self.client = httpx.Client(timeout=timeout)

    def send(self, payloads: list[dict[str, Any]]) -> None:
        try:
            response = self.client.post(self.url, json=push_body(payloads), headers=self.headers)
        except httpx.HTTPError as exc:
            raise transport_error(exc, "POST /loki/api/v1/push") from None
        check_response(response, "POST /loki/api/v1/push")

    def close(self) -> None:
        self.client.close()
