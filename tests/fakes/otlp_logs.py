"""A strict stand-in for an OTLP/HTTP logs endpoint (an OpenTelemetry Collector's `/v1/logs`) that decodes
the log records it took, as `otlp.py` does for spans: protobuf only; a body that is not an
`ExportLogsServiceRequest` is a 400; while `outage` is set every request gets 503."""

from __future__ import annotations

import gzip
from collections import Counter
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from fakes.http import Answer, FakeHttpServer, Request


def attributes(key_values: Any) -> dict[str, str]:
    return {kv.key: kv.value.string_value for kv in key_values}


class OtlpLogsReceiver(FakeHttpServer):
    """Accepted items: (resource attributes, LogRecord) pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.outage = False
        self.refusals: list[str] = []

    def answer(self, request: Request) -> Answer:
        if self.outage:
            return Answer.text(503, "down for the test")
        if request.path != "/v1/logs":
            return self.refuse(404, f"no {request.path} here")
        if request.content_type != "application/x-protobuf":
            return self.refuse(415, "Content-Type must be application/x-protobuf")
        body = request.body
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        decoded = ExportLogsServiceRequest()
        try:
            decoded.ParseFromString(body)
        except Exception:  # google.protobuf.message.DecodeError, untyped
            return self.refuse(400, "body is not an ExportLogsServiceRequest")
        for resource_logs in decoded.resource_logs:
            resource = attributes(resource_logs.resource.attributes)
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    self.accept((resource, record))
        reply = ExportLogsServiceResponse().SerializeToString()
        return Answer(200, reply, {"Content-Type": "application/x-protobuf"})

    def refuse(self, status: int, reason: str) -> Answer:
        with self.lock:
            self.refusals.append(reason)
        return Answer.text(status, reason)

    def records(self) -> dict[str, Any]:
        """LogRecords by their `event.id` attribute."""
        return {attributes(record.attributes)["event.id"]: record for _, record in self.accepted}

    def event_ids(self) -> Counter[str]:
        return Counter(attributes(record.attributes)["event.id"] for _, record in self.accepted)
