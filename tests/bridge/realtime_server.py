"""A real uvicorn server running the notification WebSocket route with a fake store and key check, for
the real-time tests."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import uvicorn
from fastapi import FastAPI
from websockets.sync.client import ClientConnection, connect

from pushgateway_bridge.api.routes.notifications_ws import build_router
from pushgateway_bridge.auth import AuthError
from pushgateway_bridge.notifications.realtime import Hub
from stack import wait_until

# Key -> user id globs it may read; with no key, the anonymous scope's globs.
KEYS = {"key-a": ("user-a*",), "key-all": ("*",), "key-limited": ("*",)}
ANONYMOUS = ("user123", "anon-*")
QUEUE_SIZE = 8  # small, so that a client that stops reading overflows quickly


class Store:
    """The notifications, per user, in the order stored. `publish` stores, then tells the hub, as the
    bridge must. `hold` makes the next history call wait, after reading, until the test releases it."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.lock = threading.Lock()
        self.texts: dict[str, list[str]] = {}
        self.hold: tuple[threading.Event, threading.Event] | None = None

    def add(self, user_id: str, notification_id: str, padding: int = 0) -> str:
        text = json.dumps({"id": notification_id, "user_id": user_id, "message": "x" * padding})
        with self.lock:
            self.texts.setdefault(user_id, []).append(text)
        return text

    def publish(self, user_id: str, notification_id: str, padding: int = 0) -> str:
        text = self.add(user_id, notification_id, padding)
        self.hub.publish(user_id, text)
        return text

    def history(self, user_id: str, since: str) -> list[str]:
        with self.lock:
            texts = list(self.texts.get(user_id, []))
        ids = [json.loads(text)["id"] for text in texts]
        if since not in ids:
            raise ValueError(f"no notification '{since}' for this user")
        if self.hold is not None:
            entered, release = self.hold
            entered.set()
            assert release.wait(10)
        return texts[ids.index(since) + 1 :]


def authorize(user_id: str, x_api_key: str | None, authorization: str | None, token: str | None) -> None:
    bearer = authorization.removeprefix("Bearer ") if authorization else None
    key = x_api_key or bearer or token
    patterns: tuple[str, ...]
    if key is None:
        patterns = ANONYMOUS
        if not any(fnmatchcase(user_id, p) for p in patterns):
            raise AuthError(401, "missing API key: send x-api-key, Authorization: Bearer or ?token=")
    elif key not in KEYS:
        raise AuthError(401, "unknown API key")
    elif key == "key-limited":
        raise AuthError(429, "rate limit of 1 requests/s exceeded for key 'limited'", retry_after=3)
    else:
        patterns = KEYS[key]
    if not any(fnmatchcase(user_id, p) for p in patterns):
        raise AuthError(403, f"this key may not read user '{user_id}'")


@dataclass
class Server:
    hub: Hub
    store: Store
    port: int

    def url(self, user_id: str, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}/api/notifications/ws/{user_id}{query}"

    def connect(self, user_id: str, query: str = "?token=key-all", **options: Any) -> ClientConnection:
        ws: ClientConnection = connect(self.url(user_id, query), open_timeout=10, close_timeout=2, **options)
        return ws


def serve(**config: Any) -> Iterator[Server]:
    hub = Hub(queue_size=QUEUE_SIZE)
    store = Store(hub)
    app = FastAPI()
    app.include_router(build_router(hub, store.history, authorize))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            loop="uvloop",
            http="httptools",
            ws="websockets-sansio",
            ws_per_message_deflate=False,
            lifespan="off",
            log_config=None,  # uvicorn's records reach pytest's caplog
            **config,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, what="uvicorn started")
        yield Server(hub, store, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def received(ws: ClientConnection) -> Any:
    return json.loads(ws.recv(timeout=10))
