"""The OTLP log record of an event, field by field, where the end-to-end test has no case: a 64-bit trace
id, ids that are not hex, integers past 64 bits, the neutral event's levels."""

from __future__ import annotations

from typing import Any

import pytest

from pushgateway_bridge.integrations.otlp import any_value, export_request, log_record


def event(**changes: Any) -> dict[str, Any]:
    made: dict[str, Any] = {
        "event_id": "e-1",
        "source": "scheduler",
        "kind": "heartbeat",
        "name": "billing",
        "level": "debug",
        "received": 1_700_000_000.25,
        "fields": {"scheduler_id": "s-1"},
    }
    made.update(changes)
    return made


def test_a_64_bit_trace_id_is_zero_padded_on_the_left() -> None:
    record = log_record(event(trace_id="00f067aa0ba902b7"))
    assert record.trace_id == bytes(8) + bytes.fromhex("00f067aa0ba902b7")


@pytest.mark.parametrize("bad", ["xyz", "ab" * 17, "", 12])
def test_ids_that_are_not_hex_of_the_size_are_left_out(bad: Any) -> None:
    record = log_record(event(trace_id=bad, fields={"span_id": bad}))
    assert (record.trace_id, record.span_id) == (b"", b"")


@pytest.mark.parametrize(("level", "number"), [("debug", 5), ("info", 9), ("warn", 13), ("error", 17)])
def test_levels_map_to_severity_numbers(level: str, number: int) -> None:
    record = log_record(event(level=level))
    assert (record.severity_number, record.severity_text) == (number, level.upper())


def test_times_without_a_client_time_are_the_received_time() -> None:
    record = log_record(event())
    assert record.time_unix_nano == record.observed_time_unix_nano == 1_700_000_000_250_000_000
    assert record.event_name == "scheduler.heartbeat"


def test_integers_past_64_bits_go_as_doubles() -> None:
    assert any_value(2**63 - 1).int_value == 2**63 - 1
    assert any_value(2**63).double_value == float(2**63)
    assert any_value(False).bool_value is False
    assert any_value(False).HasField("bool_value")


def test_one_resource_and_scope_per_request() -> None:
    request = export_request([event(), event(event_id="e-2")], "site-b")
    [resource_logs] = request.resource_logs
    assert [(kv.key, kv.value.string_value) for kv in resource_logs.resource.attributes] == [
        ("service.name", "site-b")
    ]
    [scope_logs] = resource_logs.scope_logs
    assert scope_logs.scope.name == "pushgateway-bridge"
    assert len(scope_logs.log_records) == 2
