"""The notification WebSocket of the real bridge process: the seed's browser snippet under Node receiving
what the seed's curl command sends, and Python clients (the `websockets` package) for several sockets per
user, a key refused on another user's socket, resuming with `since`, and a slow client closed with 1013
while a fast one keeps receiving."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from bridge.conftest import ADMIN_KEY, TEAM_KEY, Bridge, BridgeFactory
from bridge.notification_receivers import Receivers, bridge_config, notify, receivers
from bridge.test_realtime import NODE_SNIPPET
from stack import Pushgateway, in_ci, wait_until

SOCKET_QUEUE = 4  # notification_socket_queue: a client that stops reading overflows after a few


@pytest.fixture
def fakes() -> Iterator[Receivers]:
    with receivers() as running:
        yield running


@pytest.fixture
def bridge(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, tmp_path: Path, fakes: Receivers
) -> Bridge:
    config = bridge_config(tmp_path, fakes, notification_socket_queue=SOCKET_QUEUE)
    return bridge_factory(pushgateway.url, config=config)


def ws_url(bridge: Bridge, user_id: str, query: str = "") -> str:
    return bridge.url.replace("http://", "ws://") + f"/api/notifications/ws/{user_id}{query}"


def open_socket(
    bridge: Bridge, user_id: str, query: str = "", key: str = ADMIN_KEY, **options: Any
) -> ClientConnection:
    ws: ClientConnection = connect(
        ws_url(bridge, user_id, query),
        additional_headers={"x-api-key": key},
        open_timeout=10,
        close_timeout=2,
        **options,
    )
    return ws


def received(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws.recv(timeout=10))
    return frame


def in_app(bridge: Bridge, user_id: str, subject: str, message: str = "") -> dict[str, Any]:
    """A notification on the in-app channel; the 202's body (its realtime delivery counts the sockets)."""
    return notify(bridge, user_id=user_id, channel="realtime", subject=subject, message=message or subject)


def test_the_seeds_browser_snippet_under_node_prints_what_the_seeds_curl_sends(
    bridge: Bridge, fakes: Receivers, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        message = "node (20 or later) is needed for the seed's browser snippet"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    host = bridge.url.removeprefix("http://")
    script = tmp_path / "realtime.js"
    script.write_text(NODE_SNIPPET.replace("localhost:8013", host))
    process = subprocess.Popen(
        [node, "--experimental-websocket", str(script)], stdout=subprocess.PIPE, text=True
    )
    lines: Queue[str] = Queue()

    def read() -> None:
        for line in process.stdout or ():
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        # Connected once a notification counts one socket for user123 (that one reaches node too). A probe
        # counted before the socket opened may reach node as well: its count is read before its commit and
        # it is published after, so the socket can open in between. Node prints no other notification.
        probes: list[str] = []

        def probe_counts_one_socket() -> bool:
            sent = in_app(bridge, "user123", "probe")
            probes.append(sent["id"])
            return bool(sent["deliveries"]["realtime"]["connections"] == 1)

        wait_until(probe_counts_one_socket, what="node's socket open")
        while (shown_id := json.loads(next_line(lines).removeprefix("Notification: "))["id"]) != probes[-1]:
            assert shown_id in probes[:-1]
        # The seed's "Send notification", verbatim but for the host.
        out = subprocess.run(
            [
                "curl", "-s", "-X", "POST", f"http://{host}/api/notifications/notify",
                "-H", "Content-Type: application/json",
                "-d", """{
    "user_id": "user123",
    "type": "email",
    "channel": "email",
    "subject": "Model Validation Complete",
    "message": "Your model has been validated successfully.",
    "to": "user123@example.com"
  }""",
            ],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout  # fmt: skip
        sent = json.loads(out)
        line = next_line(lines)
        assert line.startswith("Notification: ")
        shown = json.loads(line.removeprefix("Notification: "))
        assert shown["id"] == sent["id"]
        assert (shown["subject"], shown["message"]) == (
            "Model Validation Complete",
            "Your model has been validated successfully.",
        )
    finally:
        process.kill()
        process.wait(10)
    mail = wait_until(lambda: fakes.smtp.to("user123@example.com"), timeout=20, what="the email")[0]
    assert mail.subject == "Model Validation Complete"


def next_line(lines: Queue[str]) -> str:
    try:
        return lines.get(timeout=10)
    except Empty:
        pytest.fail("node printed nothing")


def test_every_socket_of_a_user_gets_each_notification_and_no_other_users(bridge: Bridge) -> None:
    with ExitStack() as sockets:
        mine = [sockets.enter_context(open_socket(bridge, "team-a-alice")) for _ in range(3)]
        theirs = sockets.enter_context(open_socket(bridge, "team-a-bob"))
        first = in_app(bridge, "team-a-alice", "one")
        assert first["deliveries"]["realtime"]["connections"] == 3
        second = in_app(bridge, "team-a-alice", "two")
        for ws in mine:
            assert [received(ws)["id"] for _ in range(2)] == [first["id"], second["id"]]
        # Isolation: bob's first frame is his own, sent after alice's two.
        own = in_app(bridge, "team-a-bob", "bob's")
        assert received(theirs)["id"] == own["id"]


def test_a_key_scoped_to_some_users_gets_403_on_another_users_socket(bridge: Bridge) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_socket(bridge, "team-b-carol", key=TEAM_KEY)
    assert refused.value.response.status_code == 403
    assert b"team-b-carol" in refused.value.response.body
    with pytest.raises(InvalidStatus) as refused_by_token:
        connect(ws_url(bridge, "team-b-carol", f"?token={TEAM_KEY}"), open_timeout=10)
    assert refused_by_token.value.response.status_code == 403
    with open_socket(bridge, "team-a-alice", key=TEAM_KEY) as allowed:  # its own users: accepted
        sent = in_app(bridge, "team-a-alice", "allowed")
        assert received(allowed)["id"] == sent["id"]


def test_since_replays_what_was_missed_then_streams_live(bridge: Bridge) -> None:
    with open_socket(bridge, "team-a-alice") as ws:
        seen = in_app(bridge, "team-a-alice", "seen")
        assert received(ws)["id"] == seen["id"]
    wait_until(
        lambda: in_app(bridge, "team-a-alice", "gone")["deliveries"]["realtime"]["connections"] == 0,
        what="the socket closed",
    )
    missed = [in_app(bridge, "team-a-alice", f"missed {n}") for n in range(3)]
    with open_socket(bridge, "team-a-alice", f"?since={seen['id']}") as ws:
        replayed = [received(ws) for _ in range(len(missed) + 1)]
        live = in_app(bridge, "team-a-alice", "live")
        assert received(ws)["id"] == live["id"]  # the next frame: nothing replayed twice
    subjects = [frame["subject"] for frame in replayed]
    assert subjects[-3:] == ["missed 0", "missed 1", "missed 2"]
    assert [frame["id"] for frame in replayed][-3:] == [m["id"] for m in missed]
    assert set(subjects[:-3]) == {"gone"}


def test_a_slow_client_is_closed_with_1013_while_a_fast_one_keeps_receiving(bridge: Bridge) -> None:
    padding = "x" * 19_000  # large frames fill the slow client's TCP window sooner
    with (
        open_socket(bridge, "team-a-alice") as fast,
        open_socket(bridge, "team-a-alice", max_queue=1) as slow,
    ):
        # `slow` stops reading its socket once one frame waits unread: never read until it was dropped.
        sent: list[dict[str, Any]] = []
        while not sent or sent[-1]["deliveries"]["realtime"]["connections"] == 2:
            assert len(sent) < 2000, "the slow client was never dropped"
            sent.append(in_app(bridge, "team-a-alice", f"m{len(sent)}", padding))
            assert received(fast)["id"] == sent[-1]["id"]
        got: list[dict[str, Any]] = []
        with pytest.raises(ConnectionClosed):
            while True:
                got.append(received(slow))
        assert slow.close_code == 1013
        assert (slow.close_reason or "").startswith("too slow to keep up")
        ids = [n["id"] for n in sent]
        assert [frame["id"] for frame in got] == ids[: len(got)] and len(got) < len(ids)
        after = in_app(bridge, "team-a-alice", "after")
        assert received(fast)["id"] == after["id"]
        # The slow client resumes with `since`: everything it missed, in order, then live.
        with open_socket(bridge, "team-a-alice", f"?since={got[-1]['id']}") as resumed:
            assert [received(resumed)["id"] for _ in ids[len(got) :]] == ids[len(got) :]
            assert received(resumed)["id"] == after["id"]
