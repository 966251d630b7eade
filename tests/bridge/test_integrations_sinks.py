"""Each integration against a local receiver that checks what it gets: the webhook's HMAC, the OTLP logs
protobuf, a second bridge (and a recording sidecar API) for local_api, the CSV and JSON exports."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.conftest import ADMIN_KEY, Bridge, BridgeFactory
from bridge.integrations_support import Receivers, csv_rows, json_lines, sidecar
from fakes.http import Answer
from fakes.otlp_logs import attributes
from pushgateway_bridge.integrations.files import CSV_COLUMNS
from stack import wait_until

HEADERS = {"x-api-key": ADMIN_KEY}
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"


@pytest.fixture
def receivers(tmp_path: Path, bridge_factory: BridgeFactory) -> Iterator[Receivers]:
    started = Receivers(tmp_path).start(bridge_factory)
    try:
        yield started
    finally:
        started.stop()


def seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_every_sink_gets_every_event(receivers: Receivers, bridge_factory: BridgeFactory) -> None:
    bridge = bridge_factory("http://127.0.0.1:9", config=receivers.config())
    failed = sidecar(
        "failed",
        "nightly",
        event_id=str(uuid.uuid4()).upper(),  # as the client wrote it: forwarded so
        timestamp="2026-03-01T12:00:00+02:00",
        message='disk full, "retry"\nsecond line',
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        metadata={"rows": 12, "nested": {"a": [1, "x", None, True, 2.5]}},
    )
    started = sidecar("started", "hourly")  # no event_id: the bridge gives one
    progress = sidecar("progress", "hourly", event_id=str(uuid.uuid4()), progress=0.5)
    answer = requests.post(
        f"{bridge.url}/v1/events/batch",
        json={"events": [failed, started, progress]},
        headers=HEADERS,
        timeout=5,
    )
    assert answer.status_code == 202, answer.text
    failed_id, started_id, progress_id = answer.json()["event_ids"]
    assert failed_id == failed["event_id"].lower()
    down = requests.post(
        f"{bridge.url}/services/", json={"name": "billing", "status": "down"}, headers=HEADERS, timeout=5
    )
    assert down.status_code == 200, down.text
    sidecar_ids = {failed_id, started_id, progress_id}

    wait_until(lambda: len(receivers.webhook.accepted) == 4, what="4 events at the webhook")
    wait_until(lambda: len(receivers.otlp.accepted) == 4, what="4 log records at the Collector")
    wait_until(lambda: len(receivers.sidecar.events) == 3, what="3 sidecar events at the recorder")
    wait_until(lambda: set(receivers.old_loki.event_ids()) == sidecar_ids, what="3 events in the old bridge")
    wait_until(lambda: len(csv_rows(receivers.csv_path)) == 4, what="4 CSV rows")
    wait_until(lambda: len(json_lines(receivers.json_path)) == 4, what="4 JSON lines")
    assert receivers.webhook.refusals == []
    assert receivers.otlp.refusals == []
    assert receivers.sidecar.rejections == []

    # webhook: signed batches of neutral documents (the receiver checked the HMAC over the raw body)
    hooked = receivers.webhook.by_id()
    assert set(hooked) == sidecar_ids | {next(i for i in hooked if i not in sidecar_ids)}
    document = hooked[failed_id]
    assert document["source"] == "sidecar"
    assert document["kind"] == "failed"
    assert document["name"] == "etl"
    assert document["level"] == "error"
    assert document["timestamp"] == "2026-03-01T10:00:00Z"
    assert document["trace_id"] == TRACE_ID
    assert document["fields"]["message"] == failed["message"]
    assert document["fields"]["metadata"] == failed["metadata"]
    service = next(d for i, d in hooked.items() if i not in sidecar_ids)
    assert (service["source"], service["kind"], service["name"], service["level"]) == (
        "service",
        "status",
        "billing",
        "error",
    )
    assert "timestamp" not in service
    assert receivers.webhook.requests_seen >= 1

    # otlp: one LogRecord per event, ids in their fields
    records = receivers.otlp.records()
    assert set(records) == set(hooked)
    record = records[failed_id]
    assert record.trace_id == bytes.fromhex(TRACE_ID)
    assert record.span_id == bytes.fromhex(SPAN_ID)
    assert record.severity_number == 17  # SEVERITY_NUMBER_ERROR
    assert record.severity_text == "ERROR"
    assert record.event_name == "sidecar.failed"
    assert record.time_unix_nano == int(seconds("2026-03-01T12:00:00+02:00")) * 10**9
    assert record.observed_time_unix_nano > record.time_unix_nano
    assert attributes(record.attributes) == {
        "event.id": failed_id,
        "bridge.source": "sidecar",
        "bridge.kind": "failed",
        "bridge.name": "etl",
        "bridge.level": "error",
    }
    body = {kv.key: kv.value for kv in record.body.kvlist_value.values}
    assert body["business_key"].string_value == "nightly"
    assert body["message"].string_value == failed["message"]
    metadata = {kv.key: kv.value for kv in body["metadata"].kvlist_value.values}
    assert metadata["rows"].int_value == 12
    nested = metadata["nested"].kvlist_value.values[0].value.array_value.values
    assert [nested[0].int_value, nested[1].string_value, nested[3].bool_value, nested[4].double_value] == [
        1,
        "x",
        True,
        2.5,
    ]
    assert not nested[2].HasField("string_value")  # null: the empty AnyValue
    untraced = records[progress_id]
    assert (untraced.trace_id, untraced.span_id, untraced.severity_number) == (b"", b"", 9)
    assert records[service["event_id"]].severity_number == 17
    resources = [resource for resource, _ in receivers.otlp.accepted]
    assert all(resource == {"service.name": "site-a-bridge"} for resource in resources)

    # local_api: the events as the client sent them, the bridge's id added where the client gave none
    by_id = {event["event_id"]: event for event in receivers.sidecar.events}
    assert by_id[failed["event_id"]] == failed
    assert by_id[started_id] == {**started, "event_id": started_id}
    assert by_id[progress_id] == progress
    assert receivers.old_loki.duplicates() == {}

    # csv: the documented columns, one row per event, a quoted multi-line message intact
    with receivers.csv_path.open(encoding="utf-8") as handle:
        assert handle.readline().strip() == ",".join(CSV_COLUMNS)
    rows = {row["event_id"]: row for row in csv_rows(receivers.csv_path)}
    assert set(rows) == set(hooked)
    row = rows[failed_id]
    assert row["received"] == document["received"]
    assert row["timestamp"] == "2026-03-01T10:00:00Z"
    assert (row["source"], row["kind"], row["name"], row["level"]) == ("sidecar", "failed", "etl", "error")
    assert (row["trace_id"], row["span_id"]) == (TRACE_ID, SPAN_ID)
    assert json.loads(row["fields"]) == document["fields"]
    assert (rows[progress_id]["timestamp"], rows[progress_id]["trace_id"]) == ("2026-03-01T10:00:01Z", "")

    # json: the webhook's documents, one a line
    assert {line["event_id"]: line for line in json_lines(receivers.json_path)} == hooked

    # metrics and /ready: each integration a downstream of its own
    for name in ("hook", "collector", "old-bridge", "recorder", "csv", "json"):
        sent = 3 if name in ("old-bridge", "recorder") else 4
        wait_until(partial(forwarded, bridge, name, sent), what=f"integration:{name} forwarded {sent}")
        assert bridge.own_metric("bridge_outbox_pending", downstream=f"integration:{name}") == 0
        assert bridge.own_metric("bridge_downstream_up", downstream=f"integration:{name}") == 1
    ready = requests.get(f"{bridge.url}/ready", timeout=5).json()["downstreams"]
    assert ready["integration:hook"] == {
        "type": "webhook",
        "target": receivers.webhook.url,  # the origin only: a webhook's path may hold a token
        "reachable": True,
        "last_error": None,
        "pending": 0,
        "oldest_pending_age_seconds": 0.0,
    }
    assert {ready[f"integration:{n}"]["type"] for n in ("csv", "json", "collector", "recorder")} == {
        "csv",
        "json",
        "otlp",
        "local_api",
    }


def test_webhook_4xx_is_a_dead_letter_and_5xx_retried(
    receivers: Receivers, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory("http://127.0.0.1:9", config=receivers.config())
    receivers.webhook.secret = "not-the-bridges"  # every signature now fails: 401, kept and retried
    first = post_one(bridge, "a")
    wait_until(
        lambda: bridge.own_metric("bridge_forward_errors_total", downstream="integration:hook", kind="auth"),
        what="the refused signature counted as an auth error",
    )
    assert bridge.own_metric("bridge_dead_letters_total", downstream="integration:hook") is None
    receivers.webhook.secret = "integration-secret-for-tests"
    wait_until(lambda: len(receivers.webhook.accepted) == 1, what="delivered once the secret matches")
    # POST /v1/event's body reaches local_api as sent, too
    wait_until(lambda: len(receivers.sidecar.events) == 1, what="the single event at the recorder")
    assert receivers.sidecar.events == [first]  # its timestamp's text too, not a re-encoding of it

    receivers.webhook.fail_next(Answer.text(503, "busy"), times=2)
    second = post_one(bridge, "b")["event_id"]
    wait_until(lambda: second in receivers.webhook.event_ids(), what="delivered after two 503s")
    receivers.webhook.fail_next(Answer.text(422, "we do not take this one"))
    third = post_one(bridge, "c")["event_id"]
    wait_until(
        lambda: bridge.own_metric("bridge_dead_letters_total", downstream="integration:hook") == 1,
        what="the 422 dead-lettered",
    )
    assert third not in receivers.webhook.event_ids()
    assert (
        bridge.own_metric("bridge_forward_errors_total", downstream="integration:hook", kind="http_503") == 2
    )
    ready = requests.get(f"{bridge.url}/ready", timeout=5).json()["downstreams"]["integration:hook"]
    assert "HTTP 422" in ready["last_error"]
    assert "/events" not in ready["last_error"]  # the URL's origin only


def forwarded(bridge: Bridge, name: str, count: int) -> bool:
    return bridge.own_metric("bridge_forwarded_total", downstream=f"integration:{name}") == count


def post_one(bridge: Bridge, key: str) -> dict[str, Any]:
    event = sidecar("progress", key, event_id=str(uuid.uuid4()), timestamp="2026-03-01T10:00:01.000+00:00")
    answer = requests.post(f"{bridge.url}/v1/event", json=event, headers=HEADERS, timeout=5)
    assert answer.status_code == 202, answer.text
    return event


def test_the_otlp_receiver_refuses_a_malformed_body(receivers: Receivers) -> None:
    url = f"{receivers.otlp.url}/v1/logs"
    truncated = b"\x0a\xff\x01"  # field 1, length 255, then one byte
    refused = requests.post(
        url, data=truncated, headers={"Content-Type": "application/x-protobuf"}, timeout=5
    )
    assert refused.status_code == 400
    wrong_type = requests.post(url, data=b"{}", headers={"Content-Type": "application/json"}, timeout=5)
    assert wrong_type.status_code == 415
    assert receivers.otlp.accepted == []
