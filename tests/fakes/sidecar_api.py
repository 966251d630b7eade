"""A strict stand-in for the bridge's event API (`/v1/event`, `/v1/events/batch`) that records what it took."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from fakes.event_schema import Invalid, batch_events, validate_event
from fakes.restartable_http import Forced, Receiver, Reply, forced_reply, json_reply


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
            return json_reply(404, {"detail": "not found"})
        try:
            events = self._parse(handler, body)
        except Invalid as exc:
            status = {"x-api-key": 401, "Content-Type": 415, "body": 400}.get(exc.field, 422)
            return self._reject(status, exc.field, exc.reason)
        with self.lock:
            self.batches.append(events)
            self.events.extend(events)
        ids = [event["event_id"] for event in events]
        return json_reply(202, {"accepted": len(events), "event_ids": ids})

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
        events = [document] if single else batch_events(document)
        if events is None:
            raise Invalid("events", "must be a non-empty list")
        for index, event in enumerate(events):
            validate_event(event, "" if single else f"events[{index}].")
        return events

    def _reject(self, status: int, field: str, reason: str) -> Reply:
        with self.lock:
            self.rejections.append({"field": field, "reason": reason})
        return json_reply(status, {"detail": [{"field": field, "reason": reason}]})

    def kinds(self) -> list[str]:
        with self.lock:
            return [event["kind"] for event in self.events]
