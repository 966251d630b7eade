"""A receiver of the bridge's signed webhooks, checking them as the README tells receivers to.

`X-Notification-Signature` must be `sha256=` + hex HMAC-SHA256(secret, `<X-Notification-Timestamp>.<raw
body>`), compared in constant time; the timestamp whole seconds within `max_skew` of this clock; the body
JSON with `Content-Type: application/json`. Any failure: 401 (signature, timestamp) or 400 (body).
Accepted: 200.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from fakes.http import Answer, FakeHttpServer, Request


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver(FakeHttpServer):
    def __init__(self, secret: str = "webhook-secret", max_skew: float = 300.0) -> None:
        super().__init__()
        self.secret, self.max_skew = secret, max_skew
        self._refusals: list[str] = []

    @property
    def refusals(self) -> list[str]:
        with self.lock:
            return list(self._refusals)

    def answer(self, request: Request) -> Answer:
        refusal = self.check(request)
        if refusal is not None:
            with self.lock:
                self._refusals.append(refusal)
            return Answer.text(400 if refusal.startswith("body") else 401, refusal)
        self.accept(Delivery(request.path, request.headers, request.body))
        return Answer.json(200, {"received": True})

    def check(self, request: Request) -> str | None:
        timestamp = request.headers.get("x-notification-timestamp", "")
        if not timestamp.isdigit():
            return "timestamp missing or not whole seconds"
        if abs(time.time() - int(timestamp)) > self.max_skew:
            return "timestamp too far from the receiver's clock"
        expected = hmac.new(self.secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256)
        given = request.headers.get("x-notification-signature", "")
        if not hmac.compare_digest(given, "sha256=" + expected.hexdigest()):
            return "signature does not match"
        if request.content_type != "application/json":
            return "body: content type must be application/json"
        try:
            json.loads(request.body)
        except ValueError:
            return "body: not JSON"
        return None
