"""Strict local stand-ins for the bridge's event API and an OTLP/HTTP traces endpoint.

Both reject anything the real servers would reject (wrong content type, unknown or mistyped fields) with a
4xx naming the field, and record what they accepted, so SDK tests assert on exactly what was sent.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from uuid import UUID

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from stack import free_port

UUID_FIELDS = ("event_id", "entity_id")
REQUIRED = {
    "event_id",
    "site_id",
    "app",
    "entity_type",
    "business_key",
    "entity_id",
    "kind",
    "timestamp",
}
OPTIONAL = {
    "parent_id",
    "progress",
    "message",
    "duration_s",
    "cpu_seconds",
    "memory_bytes",
    "trace_id",
    "span_id",
    "metadata",
}
KINDS = {"started", "progress", "finished", "failed"}
HEX = {digits: re.compile(f"[0-9a-f]{{{digits}}}") for digits in (16, 32)}


class Invalid(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _uuid(value: Any, field: str) -> None:
    if not isinstance(value, str):
        raise Invalid(field, "must be a UUID string")
    try:
        UUID(value)
    except ValueError:
        raise Invalid(field, "must be a UUID string") from None


def validate_event(event: Any, where: str = "") -> None:
    """Raise `Invalid(field, reason)` unless `event` is exactly the bridge's event schema."""
    if not isinstance(event, dict):
        raise Invalid(where or "event", "must be an object")
    missing = REQUIRED - event.keys()
    if missing:
        raise Invalid(where + sorted(missing)[0], "required")
    unknown = event.keys() - REQUIRED - OPTIONAL
    if unknown:
        raise Invalid(where + sorted(unknown)[0], "unknown field")
    _validate_identity(event, where)
    _validate_measures(event, where)


def _validate_identity(event: dict[str, Any], where: str) -> None:
    for field in UUID_FIELDS:
        _uuid(event[field], where + field)
    if event.get("parent_id") is not None:
        _uuid(event["parent_id"], where + "parent_id")
    for field in ("site_id", "entity_type", "business_key"):
        if not isinstance(event[field], str) or not event[field]:
            raise Invalid(where + field, "must be a non-empty string")
    app = event["app"]
    if not isinstance(app, dict) or set(app) != {"app_id", "name", "version"}:
        raise Invalid(where + "app", "must be {app_id, name, version}")
    _uuid(app["app_id"], where + "app.app_id")
    if event["kind"] not in KINDS:
        raise Invalid(where + "kind", f"must be one of {sorted(KINDS)}")
    try:
        stamp = datetime.fromisoformat(event["timestamp"])
    except (TypeError, ValueError):
        raise Invalid(where + "timestamp", "must be ISO-8601") from None
    if stamp.tzinfo is None:
        raise Invalid(where + "timestamp", "must carry a time zone")
    for field, digits in (("trace_id", 32), ("span_id", 16)):
        value = event.get(field)
        if value is not None and not (isinstance(value, str) and HEX[digits].fullmatch(value)):
            raise Invalid(where + field, f"must be {digits} lower-case hex digits")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _validate_measures(event: dict[str, Any], where: str) -> None:
    progress = event.get("progress")
    if progress is not None and (not _number(progress) or not 0 <= progress <= 1):
        raise Invalid(where + "progress", "must be a number within 0..1")
    for field in ("duration_s", "cpu_seconds"):
        value = event.get(field)
        if value is not None and (not _number(value) or value < 0):
            raise Invalid(where + field, "must be a number >= 0")
    memory = event.get("memory_bytes")
    if memory is not None and (not _number(memory) or not isinstance(memory, int) or memory < 0):
        raise Invalid(where + "memory_bytes", "must be an integer >= 0")
    if event.get("message") is not None and not isinstance(event["message"], str):
        raise Invalid(where + "message", "must be a string")
    if "metadata" in event and not isinstance(event["metadata"], dict):
        raise Invalid(where + "metadata", "must be an object")


class Reply(NamedTuple):
    status: int
    content_type: str
    payload: bytes
    headers: tuple[tuple[str, str], ...] = ()


# What `fail_next` holds: a status, or a status with response headers (e.g. Retry-After).
Forced = int | tuple[int, dict[str, str]]


def forced_reply(forced: Forced) -> Reply:
    status, headers = (forced, {}) if isinstance(forced, int) else forced
    return _json(status, {"detail": "forced failure"}, headers)


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


class Receiver:
    """Base: a threaded HTTP server on a fixed loopback port that can be stopped and started again."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []  # every request: path, headers, status
        self._server: _Server | None = None

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> Reply:
        raise NotImplementedError

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, content_type, payload, headers = receiver.handle(self, body)
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        # A short poll interval: stop() waits for it (the default half second per server adds up).
        serve = self._server.serve_forever
        threading.Thread(target=serve, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class EventReceiver(Receiver):
    """The bridge's `/v1/event` and `/v1/events/batch`, strictly validated; `fail_next` forces errors.

    `api_key` may change while it runs (as when the bridge's configuration is fixed). While `gate` is clear,
    requests wait at it (`held` is set once one does), so a test can hold the sender inside a request.
    """

    def __init__(self, port: int | None = None, api_key: str | None = None) -> None:
        super().__init__(port)
        self.api_key = api_key
        self.events: list[dict[str, Any]] = []
        self.batches: list[list[dict[str, Any]]] = []
        self.rejections: list[dict[str, str]] = []
        self.fail_next: list[Forced] = []  # answers to the next requests, in order
        self.gate = threading.Event()
        self.gate.set()
        self.held = threading.Event()

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> Reply:
        if not self.gate.is_set():
            self.held.set()
            self.gate.wait()
        with self.lock:
            if self.fail_next:
                return forced_reply(self.fail_next.pop(0))
        if handler.path not in ("/v1/event", "/v1/events/batch"):
            return _json(404, {"detail": "not found"})
        try:
            events = self._parse(handler, body)
        except Invalid as exc:
            status = {"x-api-key": 401, "Content-Type": 415, "body": 400}.get(exc.field, 422)
            return self._reject(status, exc.field, exc.reason)
        with self.lock:
            self.batches.append(events)
            self.events.extend(events)
        ids = [event["event_id"] for event in events]
        return _json(202, {"accepted": len(events), "event_ids": ids})

    def _parse(self, handler: BaseHTTPRequestHandler, body: bytes) -> list[dict[str, Any]]:
        if self.api_key is not None and handler.headers.get("x-api-key") != self.api_key:
            raise Invalid("x-api-key", "missing or wrong API key")
        if not (handler.headers.get("Content-Type") or "").startswith("application/json"):
            raise Invalid("Content-Type", "must be application/json")
        try:
            document = json.loads(body)
        except ValueError:
            raise Invalid("body", "not JSON") from None
        single = handler.path == "/v1/event"
        events = [document] if single else _batch_events(document)
        if events is None:
            raise Invalid("events", "must be a non-empty list")
        for index, event in enumerate(events):
            validate_event(event, "" if single else f"events[{index}].")
        return events

    def _reject(self, status: int, field: str, reason: str) -> Reply:
        with self.lock:
            self.rejections.append({"field": field, "reason": reason})
        return _json(status, {"detail": [{"field": field, "reason": reason}]})

    def kinds(self) -> list[str]:
        with self.lock:
            return [event["kind"] for event in self.events]


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


class ApiReceiver(Receiver):
    """Records JSON requests of the seed APIs (POST and PUT); `fail_next` forces answers."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)
        self.calls: list[dict[str, Any]] = []  # method, path, headers (lower-case), body
        self.fail_next: list[Forced] = []
        self.unknown: set[str] = set()  # paths answered 404 (e.g. a scheduler not registered yet)

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> Reply:
        headers = {key.lower(): value for key, value in handler.headers.items()}
        if headers.get("content-type") != "application/json":
            return _json(415, {"detail": [{"field": "Content-Type", "reason": "must be application/json"}]})
        try:
            document = json.loads(body)
        except ValueError:
            return _json(400, {"detail": [{"field": "body", "reason": "not JSON"}]})
        with self.lock:
            self.calls.append(
                {"method": handler.command, "path": handler.path, "headers": headers, "body": document}
            )
            if self.fail_next:
                return forced_reply(self.fail_next.pop(0))
            if handler.path in self.unknown:
                self.unknown.discard(handler.path)
                return _json(404, {"detail": "scheduler not registered"})
        return _json(200, {"ok": True, "path": handler.path})


def _batch_events(document: Any) -> list[Any] | None:
    if not isinstance(document, dict) or set(document) != {"events"}:
        return None
    events = document["events"]
    if not isinstance(events, list) or not events:
        return None
    return events


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, "application/json", json.dumps(body).encode(), tuple((headers or {}).items()))
