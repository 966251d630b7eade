"""Request accounting (metrics, body size limit 413, JSON content type 415) and the pure ASGI middleware
that applies it to every request; api/hot_routes.py applies the same to the hot routes' requests."""

from __future__ import annotations

import json
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pushgateway_bridge.metrics import BridgeMetrics


class BodyTooLarge(Exception):
    pass


async def send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})


class RequestAccounting:
    """What the bridge checks and counts of every HTTP request, wherever it is answered."""

    def __init__(self, metrics: BridgeMetrics, max_body_bytes: int) -> None:
        self.metrics = metrics
        self.max_body = max_body_bytes
        # Metric children by (handler, code): labels() takes a lock and builds a key on every call.
        self.children: dict[tuple[str, int], tuple[Counter, Histogram]] = {}

    def observe(self, handler: str, code: int, started: float) -> None:
        """One request answered with `code` by `handler` (a route's path, or "other")."""
        children = self.children.get((handler, code))
        if children is None:
            children = (
                self.metrics.http_requests.labels(handler, str(code)),
                self.metrics.http_duration.labels(handler),
            )
            self.children[(handler, code)] = children
        children[0].inc()
        children[1].observe(time.perf_counter() - started)

    def too_large_message(self) -> str:
        return f"request body larger than max_body_bytes={self.max_body}"

    def refuse(self, scope: Scope) -> tuple[int, str, str] | None:
        """(status, detail, reason label) for a request refused on its headers alone, or None."""
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return None
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return 413, self.too_large_message(), "body_too_large"
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        has_body = length is None or length != b"0"
        if (
            content_type
            and has_body
            and not (content_type == b"application/json" or content_type.endswith(b"+json"))
        ):
            return (
                415,
                f"Content-Type must be application/json, not {content_type.decode(errors='replace')}",
                ("content_type"),
            )
        return None


class BridgeMiddleware:
    def __init__(self, app: ASGIApp, accounting: RequestAccounting) -> None:
        self.app = app
        self.accounting = accounting

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500, "sent": False}
        accounting = self.accounting

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
            await send(message)

        try:
            refusal = accounting.refuse(scope)
            if refusal is not None:
                accounting.metrics.rejected.labels(refusal[2]).inc()
                await send_json(counting_send, refusal[0], {"detail": refusal[1]})
            else:
                await self.app(scope, self.limited(receive), counting_send)
        except BodyTooLarge:
            accounting.metrics.rejected.labels("body_too_large").inc()
            if not status["sent"]:
                await send_json(counting_send, 413, {"detail": accounting.too_large_message()})
        finally:
            route = scope.get("route")
            accounting.observe(getattr(route, "path", None) or "other", status["code"], started)

    def limited(self, receive: Receive) -> Receive:
        total = 0
        limit = self.accounting.max_body

        async def wrapped() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > limit:
                    raise BodyTooLarge
            return message

        return wrapped
