"""A receiver of the bridge's `webhook` integration, checking each batch as docs/integrations.md tells
receivers to: `X-Bridge-Signature-256` must be `sha256=` + hex HMAC-SHA256(secret, raw body), compared in
constant time; the body JSON `{"events": [...]}` with `Content-Type: application/json`. A bad signature is
a 401, a bad body a 400; while `outage` is set every request gets 503. Accepted: 200."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from typing import Any

from fakes.http import Answer, FakeHttpServer, Request


class EventWebhookReceiver(FakeHttpServer):
    def __init__(self, secret: str = "integration-secret") -> None:
        super().__init__()
        self.secret = secret
        self.outage = False
        self.refusals: list[str] = []

    def answer(self, request: Request) -> Answer:
        if self.outage:
            return Answer.text(503, "down for the test")
        expected = "sha256=" + hmac.new(self.secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-bridge-signature-256", ""), expected):
            return self.refuse(401, "signature does not match the body")
        if request.content_type != "application/json":
            return self.refuse(400, "body: Content-Type must be application/json")
        try:
            events = json.loads(request.body)["events"]
        except (ValueError, KeyError, TypeError):
            return self.refuse(400, "body: not {'events': [...]}")
        for event in events:
            self.accept(event)
        return Answer.json(200, {"received": len(events)})

    def refuse(self, status: int, reason: str) -> Answer:
        with self.lock:
            self.refusals.append(reason)
        return Answer.text(status, reason)

    def event_ids(self) -> Counter[str]:
        return Counter(event["event_id"] for event in self.accepted)

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {event["event_id"]: event for event in self.accepted}
