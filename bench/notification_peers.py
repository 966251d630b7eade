"""The notifications bench's peers, each run in its own process: a counting SMTP server, the anchor (a
minimal `websockets` broadcast server) and the poster that sends notifications on a steady schedule.
Times are CLOCK_MONOTONIC, one clock for every process on the machine."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import requests
import uvloop
from aiosmtpd.controller import Controller
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.sync.client import connect

KEY = "bench-key"  # the bridge's API key in the bench


# --- the SMTP server and the anchor broadcast server, each in its own process ---------------------------


def smtp_server(port: int, count: Synchronized[int], last: Synchronized[float], stop: Any) -> None:
    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            with count.get_lock():
                count.value += 1
                last.value = time.monotonic()
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait(600)
    controller.stop()


def anchor_server(port: int) -> None:
    """/ws/<user>: receive that user's frames; /publish: each message {"user", "id"} is broadcast."""
    users: dict[str, set[ServerConnection]] = {}

    async def handler(ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        if path == "/publish":
            async for text in ws:
                order = json.loads(text)
                frame = json.dumps(
                    {"id": order["id"], "user_id": order["user"], "subject": "bench", "created": time.time()},
                    separators=(",", ":"),
                )
                broadcast(users.get(order["user"], ()), frame)
            return
        sockets = users.setdefault(path.removeprefix("/ws/"), set())
        sockets.add(ws)
        try:
            await ws.wait_closed()
        finally:
            sockets.discard(ws)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None) as server:
            await server.serve_forever()

    uvloop.run(main())


# --- the poster: a separate process sending on a steady schedule ----------------------------------------


@dataclass(frozen=True)
class Schedule:
    """What the poster sends: to `url` (the bridge's notify, or the anchor's control socket)."""

    target: str  # "bridge" or "anchor"
    url: str
    users: int
    rate: float
    duration: float


def post_schedule(schedule: Schedule, out: Any) -> None:
    """Send rate*duration notifications to the users in turn; put [(id, sent_at, answered_at)] on `out`."""
    sent: list[tuple[str, float, float]] = []
    session = requests.Session()
    control = connect(schedule.url, compression=None) if schedule.target == "anchor" else None
    start = time.monotonic() + 0.5
    for n in range(int(schedule.rate * schedule.duration)):
        delay = start + n / schedule.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # pacing the load, not synchronisation
        user = f"bench-user-{n % schedule.users}"
        before = time.monotonic()
        if control is not None:
            notification_id = str(uuid.uuid4())
            control.send(json.dumps({"user": user, "id": notification_id}))
        else:
            body = {"user_id": user, "channel": "realtime", "subject": f"n{n}", "message": "bench"}
            answer = session.post(schedule.url, json=body, headers={"x-api-key": KEY}, timeout=10)
            answer.raise_for_status()
            notification_id = answer.json()["id"]
        sent.append((notification_id, before, time.monotonic()))
    if control is not None:
        control.close()
    out.put(sent)
