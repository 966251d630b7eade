"""Loki push API: each outbox event becomes an entry, entries grouped into streams by their labels and
sorted by time within a stream.

An entry's stream labels are few (source, kind, whose, level: Loki indexes them); the rest of the event is
the JSON line; its id (and trace id) are structured metadata, which needs Loki's schema v13.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple, cast

from pushgateway_bridge.domain.events import Event, iso
from pushgateway_bridge.jsontext import compact, compact_bytes
from pushgateway_bridge.sinks.http_endpoint import Endpoint

PUSH_PATH = "/loki/api/v1/push"
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
    labels, ts_ns, line, metadata = entry_parts(payload)
    return Entry(labels, ts_ns, line if isinstance(line, str) else compact(line), metadata)


def entry_parts(
    payload: Mapping[str, Any],
) -> tuple[dict[str, str], str, dict[str, Any] | str, dict[str, str]]:
    """`entry`'s parts, the line not yet encoded (a str only for an item stored as a Loki entry): for a sink
    that adds to the line, which then encodes it once."""
    if "ts_ns" in payload:
        return payload["labels"], payload["ts_ns"], payload["line"], payload.get("metadata") or {}
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
    return labels, str(int(entry_time * 1e9)), line, metadata


def push_body(payloads: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The push body of `payloads`, decoded: what Loki is sent for them in one push."""
    return cast(dict[str, Any], json.loads(b"".join(push_bodies(payloads, max_bytes=sys.maxsize))))


def push_bodies(payloads: Sequence[Mapping[str, Any]], max_bytes: int) -> Iterator[bytes]:
    """The push bodies of `payloads`, in order, each at most `max_bytes` (a lone entry larger than that
    goes alone): Loki refuses a push larger than its ingestion burst, and a push refused for its size would
    be retried for ever. Each entry is encoded once and the body joined from the pieces, so its size is
    known exactly as it grows."""
    streams: dict[tuple[tuple[str, str], ...], tuple[bytes, list[tuple[int, bytes]]]] = {}
    encoded_labels: dict[tuple[tuple[str, str], ...], bytes] = {}  # each label set's JSON, made once a call
    size = len(_EMPTY_BODY)
    for payload in payloads:
        labels, ts_ns, line, metadata = entry(payload)
        value = compact_bytes([ts_ns, line, metadata] if metadata else [ts_ns, line])
        ident = tuple(sorted(labels.items()))  # a stream is a label set
        labels_json = encoded_labels.get(ident)
        if labels_json is None:
            labels_json = encoded_labels[ident] = compact_bytes(labels)
        new_stream = len(_STREAM_SHAPE) + len(labels_json)
        cost = len(value) + 1 + (0 if ident in streams else new_stream)  # the entry and its comma
        if streams and size + cost > max_bytes:
            yield _joined(streams)
            streams, size = {}, len(_EMPTY_BODY)
            cost = len(value) + 1 + new_stream
        streams.setdefault(ident, (labels_json, []))[1].append((int(ts_ns), value))
        size += cost
    if streams:
        yield _joined(streams)


_EMPTY_BODY = b'{"streams":[]}'
_STREAM_SHAPE = b'{"stream":,"values":[]},'


def _joined(streams: Mapping[Any, tuple[bytes, list[tuple[int, bytes]]]]) -> bytes:
    """The body of the streams, each stream's entries sorted by time (Loki wants them in order)."""
    parts = [
        b'{"stream":'
        + labels
        + b',"values":['
        + b",".join([value for _, value in sorted(values, key=_time)])
        + b"]}"
        for labels, values in streams.values()
    ]
    return b'{"streams":[' + b",".join(parts) + b"]}"


def _time(value: tuple[int, bytes]) -> int:
    return value[0]


class LokiSink:
    downstream = "loki"

    def __init__(self, url: str, tenant: str | None, timeout: float, max_bytes: int) -> None:
        self.endpoint = Endpoint(url, timeout)  # in the delivery process, so not on httpx
        self.headers = {"Content-Type": "application/json", **({"X-Scope-OrgID": tenant} if tenant else {})}
        self.max_bytes = max_bytes

    def send(self, payloads: list[dict[str, Any]]) -> None:
        """Every payload, in pushes of at most max_bytes. If a later push fails, the whole batch is retried:
        Loki drops an entry it already holds (same stream, time and line), so a resent push is harmless."""
        for body in push_bodies(payloads, self.max_bytes):
            self.endpoint.request("POST", PUSH_PATH, body, self.headers)

    def close(self) -> None:
        self.endpoint.close()
