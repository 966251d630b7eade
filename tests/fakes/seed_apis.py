"""A recording stand-in for the seed APIs the thin clients call (climate monitor, scheduler monitoring)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from fakes.restartable_http import Forced, Receiver, Reply, forced_reply, json_reply


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
            return json_reply(
                415, {"detail": [{"field": "Content-Type", "reason": "must be application/json"}]}
            )
        try:
            document = json.loads(body)
        except ValueError:
            return json_reply(400, {"detail": [{"field": "body", "reason": "not JSON"}]})
        with self.lock:
            self.calls.append(
                {"method": handler.command, "path": handler.path, "headers": headers, "body": document}
            )
            if self.fail_next:
                return forced_reply(self.fail_next.pop(0))
            if handler.path in self.unknown:
                self.unknown.discard(handler.path)
                return json_reply(404, {"detail": "scheduler not registered"})
        return json_reply(200, {"ok": True, "path": handler.path})
