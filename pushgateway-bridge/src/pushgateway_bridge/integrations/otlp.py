"""`otlp`: events as OpenTelemetry log records, OTLP/HTTP protobuf (`ExportLogsServiceRequest`) to
`<endpoint>/v1/logs`: an OpenTelemetry Collector (which reaches CloudWatch Logs, Elasticsearch and the
rest through its own exporters), Loki 3 or Zabbix 8 (which take OTLP logs themselves).

Each event is one LogRecord:
- `time_unix_nano`: the event's own time when the client gave one, else when the bridge received it;
  `observed_time_unix_nano`: when the bridge received it;
- `severity_number` / `severity_text`: debug DEBUG(5), info INFO(9), warn WARN(13), error ERROR(17);
- `trace_id` (16 bytes; a 64-bit id is zero-padded on the left, as W3C trace context does) and
  `span_id` (8 bytes) from the event's trace id and its `span_id` field, when present;
- `event_name`: `<source>.<kind>` (e.g. `sidecar.finished`); attributes `event.id` (the event id,
  stable across retries: deduplicate on it), `bridge.source`, `bridge.kind`, `bridge.name`, `bridge.level`;
- `body`: the request's own fields as an OTLP map (nested JSON as nested maps and arrays).
One resource (`service.name`: the entry's `service_name`) and one scope (`pushgateway-bridge`) per request.

The messages are `opentelemetry-proto`'s generated classes (the SDK's span tests decode with the same
package), not hand-encoded protobuf: the field numbers and wire types are then the spec's own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from pushgateway_bridge import __version__
from pushgateway_bridge.integrations.config import OtlpConfig
from pushgateway_bridge.integrations.http import origin, post

log = logging.getLogger("pushgateway_bridge.integrations")
PATH = "/v1/logs"
CONTENT_TYPE = "application/x-protobuf"
SEVERITIES = {
    "debug": SeverityNumber.SEVERITY_NUMBER_DEBUG,
    "info": SeverityNumber.SEVERITY_NUMBER_INFO,
    "warn": SeverityNumber.SEVERITY_NUMBER_WARN,
    "error": SeverityNumber.SEVERITY_NUMBER_ERROR,
}
TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8


def _scalar(value: Any) -> AnyValue:
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return AnyValue(bool_value=value)
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return AnyValue(int_value=value)
    if isinstance(value, int | float):  # int_value is 64-bit: larger integers go as doubles, as JSON's
        return AnyValue(double_value=value)
    return AnyValue() if value is None else AnyValue(string_value=str(value))


def any_value(value: Any) -> AnyValue:
    """A JSON value as an OTLP AnyValue (null: the empty AnyValue, as the spec has it)."""
    if isinstance(value, Mapping):
        made = AnyValue()
        made.kvlist_value.values.extend(KeyValue(key=str(k), value=any_value(v)) for k, v in value.items())
        return made
    if isinstance(value, list | tuple):
        made = AnyValue()
        made.array_value.values.extend(any_value(item) for item in value)
        return made
    return _scalar(value)


def _hex_bytes(text: Any, size: int) -> bytes:
    """`text` as `size` bytes, zero-padded on the left; b"" when it is not hex of at most that size."""
    if not isinstance(text, str) or not text or len(text) > 2 * size:
        return b""
    try:
        return bytes.fromhex(text.rjust(2 * size, "0"))
    except ValueError:
        return b""


def _nanos(seconds: float) -> int:
    # Through whole microseconds: a float of today's seconds holds no more, and seconds * 1e9 in floating
    # point lands some hundred nanoseconds off (1700000000.25 -> ...249999872).
    return round(seconds * 1e6) * 1000


def log_record(event: Mapping[str, Any]) -> LogRecord:
    fields = event["fields"]
    received = event["received"]
    at = event.get("at")
    level = event["level"]
    attributes = {
        "event.id": event["event_id"],
        "bridge.source": event["source"],
        "bridge.kind": event["kind"],
        "bridge.name": event["name"],
        "bridge.level": level,
    }
    return LogRecord(
        time_unix_nano=_nanos(at if at is not None else received),
        observed_time_unix_nano=_nanos(received),
        severity_number=SEVERITIES.get(level, SeverityNumber.SEVERITY_NUMBER_UNSPECIFIED),
        severity_text=level.upper(),
        event_name=f"{event['source']}.{event['kind']}",
        body=any_value(fields),
        attributes=[KeyValue(key=key, value=AnyValue(string_value=v)) for key, v in attributes.items()],
        trace_id=_hex_bytes(event.get("trace_id"), TRACE_ID_BYTES),
        span_id=_hex_bytes(fields.get("span_id") if isinstance(fields, Mapping) else None, SPAN_ID_BYTES),
    )


def export_request(payloads: list[dict[str, Any]], service_name: str) -> ExportLogsServiceRequest:
    resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value=service_name))])
    scope = InstrumentationScope(name="pushgateway-bridge", version=__version__)
    scope_logs = ScopeLogs(scope=scope, log_records=[log_record(payload) for payload in payloads])
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(resource=resource, scope_logs=[scope_logs])])


class OtlpSink:
    def __init__(self, name: str, config: OtlpConfig) -> None:
        self.name = name
        self.url = config.endpoint.rstrip("/") + PATH
        self.headers = {**config.headers, "Content-Type": CONTENT_TYPE}
        self.service_name = config.service_name
        self.what = f"otlp {name}: POST {origin(config.endpoint)}{PATH}"
        self.client = httpx.Client(timeout=config.timeout_seconds, follow_redirects=False)

    def send(self, payloads: list[dict[str, Any]]) -> None:
        body = export_request(payloads, self.service_name).SerializeToString()
        response = post(self.client, self.url, self.what, body, self.headers)
        self._partial_success(response)

    def _partial_success(self, response: httpx.Response) -> None:
        """The spec's partial success: some records refused for good (not to be sent again), said in the
        answer. They cannot be told apart, so they are logged, not dead-lettered."""
        answer = ExportLogsServiceResponse()
        try:
            answer.ParseFromString(response.content)
        except Exception:  # google.protobuf.message.DecodeError (no stubs installed)
            return  # a 2xx without a protobuf body (some proxies): the batch was taken
        rejected = answer.partial_success.rejected_log_records
        if rejected:
            log.warning(
                "%s: %d log records refused: %s", self.what, rejected, answer.partial_success.error_message
            )

    def close(self) -> None:
        self.client.close()
