"""A strict stand-in for an OTLP/HTTP traces endpoint (Tempo's `/v1/traces`) that decodes the spans it took."""

from __future__ import annotations

import gzip
from http.server import BaseHTTPRequestHandler
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from fakes.restartable_http import Receiver, Reply


class OtlpReceiver(Receiver):
    """OTLP/HTTP `/v1/traces`: protobuf only, decoded into spans; anything else is a 4xx."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)
        self.spans: list[Any] = []  # opentelemetry.proto.trace.v1.trace_pb2.Span
        self.resources: list[dict[str, Any]] = []

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> Reply:
        if handler.path != "/v1/traces":
            return Reply(404, "text/plain", b"not found")
        if handler.headers.get("Content-Type") != "application/x-protobuf":
            return Reply(415, "text/plain", b"Content-Type must be application/x-protobuf")
        if handler.headers.get("Content-Encoding") not in (None, "identity", "gzip"):
            return Reply(415, "text/plain", b"unsupported Content-Encoding")
        if handler.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception:  # google.protobuf.message.DecodeError, untyped
            return Reply(400, "text/plain", b"body is not an ExportTraceServiceRequest")
        with self.lock:
            for resource_spans in request.resource_spans:
                attributes = {kv.key: kv.value.string_value for kv in resource_spans.resource.attributes}
                self.resources.append(attributes)
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(scope_spans.spans)
        return Reply(200, "application/x-protobuf", ExportTraceServiceResponse().SerializeToString())
