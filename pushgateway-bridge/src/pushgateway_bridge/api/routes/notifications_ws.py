"""GET /api/notifications/ws/{user_id}: a user's notifications, one JSON text frame each, as accepted.

`?since=<id>` first replays what the client missed; `?token=<key>` carries the key for browsers, which cannot
set headers on a WebSocket. A refused handshake is an HTTP answer to the upgrade request (the ASGI WebSocket
Denial Response extension): 422 for a malformed user id or `since`, 401 for a missing or unknown key, 403 for
a key that may not read this user. The socket is one-way: what the client sends is read and dropped. A client
too slow to keep up is closed with 1013 and reconnects with `since` set to the last id it received.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, WebSocket
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from pushgateway_bridge.auth import AuthError
from pushgateway_bridge.notifications.models import UserId
from pushgateway_bridge.notifications.realtime import Hub, Subscription

# authorize(user_id, x_api_key, authorization, token): returns when the key may read `user_id`'s
# notifications, else raises AuthError (401, 403 or 429). Called before the handshake is accepted.
Authorize = Callable[[str, str | None, str | None, str | None], None]
# history(user_id, since): the JSON texts of `user_id`'s notifications after the one whose id is `since`,
# oldest first; raises ValueError naming the problem when `since` is not a notification id it can read after.
# Called in a worker thread, after the subscription has started, so that nothing falls between the two.
History = Callable[[str, str], list[str]]

TRY_AGAIN_LATER = 1013  # RFC 6455 registry: "Try Again Later"
SLOW_REASON = "too slow to keep up: reconnect with ?since=<the last id received>"
USER_ID = TypeAdapter(UserId)


def build_router(hub: Hub, history: History, authorize: Authorize) -> APIRouter:
    router = APIRouter(prefix="/api/notifications", tags=["notifications"])

    @router.websocket("/ws/{user_id}", name="notifications_ws")
    async def notifications_ws(
        websocket: WebSocket,
        user_id: str,
        *,
        since: str | None = None,
        token: str | None = None,
        x_api_key: Annotated[str | None, Header()] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> None:
        try:
            USER_ID.validate_python(user_id)
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]
            await refuse(
                websocket, 422, [invalid("path", "user_id", problem["msg"], problem["type"], user_id)]
            )
            return
        try:
            authorize(user_id, x_api_key, authorization, token)
        except AuthError as exc:
            await refuse(websocket, exc.status, exc.detail, auth_headers(exc))
            return
        with hub.subscribe(user_id) as subscription:  # before the replay: what is published meanwhile waits
            try:
                replay = [] if since is None else await run_in_threadpool(history, user_id, since)
            except ValueError as exc:
                await refuse(
                    websocket, 422, [invalid("query", "since", str(exc), "value_error", since or "")]
                )
                return
            await websocket.accept()
            watcher = asyncio.create_task(close_when_peer_leaves(websocket, subscription))
            try:
                await stream(websocket, subscription, replay)
            finally:
                watcher.cancel()

    return router


async def stream(websocket: WebSocket, subscription: Subscription, replay: list[str]) -> None:
    """The replay, then live notifications less those the replay already held, then 1013 if overflowed.

    The replay's ids are kept while the socket lives, less each duplicate as it arrives: a notification stored
    before the replay was read may be published long after (the forwarder lags), so no id can be let go."""
    replayed = {notification_id(text) for text in replay}
    replayed.discard(None)
    try:
        for text in replay:
            await websocket.send_text(text)
        async for text in subscription:
            if replayed:
                found = notification_id(text)
                if found in replayed:
                    replayed.discard(found)  # each arrives live once at most
                    continue
            await websocket.send_text(text)
        if subscription.overflowed:
            await websocket.close(TRY_AGAIN_LATER, SLOW_REASON)
    except WebSocketDisconnect:
        return  # the peer went away mid-send; the watcher has seen it or will


async def close_when_peer_leaves(websocket: WebSocket, subscription: Subscription) -> None:
    """Read (and drop) what the client sends until it disconnects, then end the subscription's iteration.

    Reading also keeps uvicorn reading the socket, so the client's pongs and close frame get through."""
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    finally:
        subscription.close()


def notification_id(text: str) -> str | int | None:
    """The `id` of a notification's JSON text; None when it has none a set could hold."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    found = document.get("id") if isinstance(document, dict) else None
    return found if isinstance(found, str | int) else None


def invalid(where: str, name: str, message: str, kind: str, value: str) -> dict[str, Any]:
    """One item of a 422's `detail`, as FastAPI words a validation error elsewhere in the API."""
    return {"type": kind, "loc": [where, name], "msg": message, "input": value}


def auth_headers(exc: AuthError) -> dict[str, str] | None:
    if exc.status == 401:
        return {"WWW-Authenticate": 'Bearer realm="pushgateway-bridge"'}
    if exc.retry_after:
        return {"Retry-After": str(exc.retry_after)}
    return None


async def refuse(
    websocket: WebSocket, status: int, detail: Any, headers: dict[str, str] | None = None
) -> None:
    """Answer the upgrade request with an HTTP error instead of accepting it."""
    await websocket.send_denial_response(
        JSONResponse({"detail": detail}, status_code=status, headers=headers)
    )


class RedactTokens(logging.Filter):
    """Hides `?token=` values in log records: uvicorn logs each WebSocket's path and query at INFO.

    For the `uvicorn.error` logger: `logging.getLogger("uvicorn.error").addFilter(RedactTokens())`."""

    TOKEN = re.compile(r"([?&]token=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self.redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True

    def redact(self, text: str) -> str:
        return self.TOKEN.sub(r"\1<redacted>", text)
