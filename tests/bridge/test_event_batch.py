"""A request's sidecar events as one outbox item (domain/event_batch.py): what a forwarder makes of the stored
row is each event as the event sinks have always been given it."""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import from_json

from pushgateway_bridge.domain import event_batch, event_log
from pushgateway_bridge.domain.models.sidecar import SidecarEvent
from pushgateway_bridge.jsontext import Encoded, compact

NOW = 1_796_000_000.25
APP_ID = "50E681FF-8991-4034-8B6C-F237332707E1"  # the model keeps ids lowercase


def sidecar(**fields: Any) -> SidecarEvent:
    body = {"site_id": "s1", "app": {"name": "etl"}, "entity_type": "job", "business_key": "b", **fields}
    return SidecarEvent.model_validate(body)


def stored(events: list[SidecarEvent], ids: list[str], originals: list[Any] | None = None) -> dict[str, Any]:
    """The row as the writer stores it (`compact`) and a forwarder reads it back (decoded JSON)."""
    text = compact(event_batch.encoded(event_log.sidecar_json(events), ids, NOW, originals))
    decoded: dict[str, Any] = from_json(text)
    return decoded


def test_each_event_as_the_sinks_take_it() -> None:
    events = [
        sidecar(
            kind="started",
            event_id="11111111-2222-4333-8444-555555555555",
            app={"name": "etl", "app_id": APP_ID},
        ),
        sidecar(
            kind="failed",
            timestamp="2024-01-15T03:00:00.5+01:00",  # well past, whenever the test runs
            message=None,  # None fields are left out, as they always were
            trace_id="0af7651916cd43dd8448eb211c80319c",
            metadata={"attempt": None, "nested": {"k": None}},  # but not inside metadata
        ),
    ]
    ids = ["11111111-2222-4333-8444-555555555555", "66666666-7777-4888-8999-000000000000"]
    assert event_batch.expanded([stored(events, ids)]) == [
        {
            "event_id": ids[0],
            "source": "sidecar",
            "kind": "started",
            "name": "etl",
            "level": "info",
            "received": NOW,
            "fields": {
                "site_id": "s1",
                "app": {"app_id": APP_ID.lower(), "name": "etl", "version": ""},
                "entity_type": "job",
                "business_key": "b",
                "kind": "started",
                "metadata": {},
            },
        },
        {
            "event_id": ids[1],
            "source": "sidecar",
            "kind": "failed",
            "name": "etl",
            "level": "error",
            "received": NOW,
            "at": 1_705_284_000.5,  # 02:00:00.5 UTC
            "trace_id": "0af7651916cd43dd8448eb211c80319c",
            "fields": {
                "site_id": "s1",
                "app": {"name": "etl", "version": ""},
                "entity_type": "job",
                "business_key": "b",
                "kind": "failed",
                "trace_id": "0af7651916cd43dd8448eb211c80319c",
                "metadata": {"attempt": None, "nested": {"k": None}},
            },
        },
    ]


def test_other_items_pass_as_they_are_in_order_and_a_batch_expands_again_the_same() -> None:
    """A forwarder that retries a step item by item expands the same decoded rows a second time."""
    events = [
        sidecar(kind="progress", progress=0.5),
        sidecar(kind="finished", timestamp="2024-01-15T02:00:00Z"),
    ]
    batch = stored(events, ["id-1", "id-2"])
    rows = [{"labels": {"a": "1"}}, batch, {"event_id": "id-3", "fields": {}}]
    first = event_batch.expanded(rows)
    assert [row.get("event_id") for row in first] == [None, "id-1", "id-2", "id-3"]
    assert first[0] is rows[0] and first[3] is rows[2]
    assert first[2]["at"] == 1_705_284_000.0
    assert event_batch.expanded(rows) == first
    plain = [{"n": 1}]
    assert event_batch.expanded(plain) is plain


def test_originals_ride_along_for_local_api() -> None:
    originals = [{"site_id": "s1", "kind": "started", "event_id": "id-1", "extra_spacing": " as sent "}]
    (event,) = event_batch.expanded([stored([sidecar(kind="started")], ["id-1"], originals)])
    assert event["original"] == originals[0]
    assert "original" not in event["fields"]


def test_a_lone_surrogate_is_escaped_and_read_back() -> None:
    """Metadata is any JSON, and a body FastAPI parsed with json.loads may carry one in it; pydantic-core
    cannot encode it as UTF-8."""
    event = sidecar(kind="started", metadata={"note": "\ud800!"})
    text = compact(event_batch.encoded(event_log.sidecar_json([event]), ["i"], NOW, None))
    assert isinstance(text, Encoded)
    (made,) = event_batch.expanded([json.loads(text)])  # as outbox.py reads what pydantic-core refuses
    assert made["fields"]["metadata"] == {"note": "\ud800!"}
