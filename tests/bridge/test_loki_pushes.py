"""A delivery step's events go to Loki in pushes of at most loki_push_max_bytes, each accepted by the strict
receiver, together holding every entry of the step in order."""

from __future__ import annotations

import json
import time
from typing import Any

from fakes.loki import LokiReceiver, validate
from pushgateway_bridge.domain.events import Event, event
from pushgateway_bridge.sinks.loki import LokiSink, push_bodies, push_body

NOW = time.time()


def events(count: int, message_bytes: int) -> list[Event]:
    """Events of two apps (two streams), times out of order within each."""
    return [
        event(
            source="sidecar",
            kind="progress",
            name=f"app-{index % 2}",
            now=NOW,
            at=NOW - (index * 7919) % 600,
            fields={"message": "é" * (message_bytes // 2), "n": index},
        )
        for index in range(count)
    ]


def entries_by_stream(body: dict[str, Any]) -> dict[str, list[Any]]:
    return {json.dumps(stream["stream"], sort_keys=True): stream["values"] for stream in body["streams"]}


def test_pushes_are_bounded_in_bytes_and_hold_every_entry_in_order() -> None:
    payloads = events(200, message_bytes=1000)
    bodies = list(push_bodies(payloads, max_bytes=20_000))
    assert len(bodies) > 5
    assert all(len(body) <= 20_000 for body in bodies)
    together: dict[str, list[Any]] = {}
    for body in bodies:
        decoded = json.loads(body)
        assert validate(decoded, time.time_ns())  # each push alone is one Loki accepts
        for stream, values in entries_by_stream(decoded).items():
            together.setdefault(stream, []).extend(values)
    # Split into pushes in the order the outbox gave them, each push sorted: the same entries as one push.
    whole = entries_by_stream(push_body(payloads))
    assert {stream: sorted(values) for stream, values in together.items()} == {
        stream: sorted(values) for stream, values in whole.items()
    }
    assert sum(len(values) for values in together.values()) == 200


def test_an_entry_larger_than_a_push_goes_alone() -> None:
    payloads = events(3, message_bytes=1000)
    payloads[1]["fields"]["message"] = "x" * 50_000
    sizes = [len(json.loads(body)["streams"][0]["values"]) for body in push_bodies(payloads, 20_000)]
    assert sizes == [1, 1, 1]
    assert len(list(push_bodies(payloads, 1 << 20))) == 1


def test_the_sink_sends_a_step_in_several_pushes_the_receiver_accepts() -> None:
    payloads = events(300, message_bytes=500)
    with LokiReceiver() as loki:
        sink = LokiSink(loki.url, None, timeout=5, max_bytes=16_384)
        try:
            sink.send([dict(payload) for payload in payloads])
        finally:
            sink.close()
        assert loki.rejections == []
        assert loki.pushes >= 300 * 500 // 16_384
        assert sorted(loki.event_ids()) == sorted(payload["event_id"] for payload in payloads)
        assert loki.duplicates() == {}
