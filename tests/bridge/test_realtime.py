"""The real-time hub and GET /api/notifications/ws/{user_id}, on a real uvicorn server (uvloop, httptools,
websockets-sansio, as the bridge's CLI runs it) with a fake store and a fake key check; clients are the
`websockets` package, a raw socket where a peer must misbehave, and the seed's browser snippet under Node.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Response
from websockets.sync.client import ClientConnection, connect
from websockets.uri import parse_uri

from bridge.realtime_server import Server, received, serve
from pushgateway_bridge.api.routes.notifications_ws import RedactTokens
from stack import in_ci, wait_until


@pytest.fixture
def server() -> Iterator[Server]:
    yield from serve()


def test_every_socket_of_a_user_gets_each_notification_published_from_another_thread(server: Server) -> None:
    with ExitStack() as sockets:
        mine = [sockets.enter_context(server.connect("user-a1")) for _ in range(3)]
        other = sockets.enter_context(server.connect("user-b1"))
        assert server.hub.stats().by_user == {"user-a1": 3, "user-b1": 1}

        def publish() -> None:
            for n in range(3):
                server.store.publish("user-a1", f"a{n}")

        worker = threading.Thread(target=publish)
        worker.start()
        worker.join()
        for ws in mine:
            assert [received(ws)["id"] for _ in range(3)] == ["a0", "a1", "a2"]
        # Isolation: user-b1's first frame is its own notification, published after user-a1's three.
        server.store.publish("user-b1", "b0")
        assert received(other) == {"id": "b0", "user_id": "user-b1", "message": ""}
    wait_until(lambda: server.hub.stats().connections == 0, what="closed sockets forgotten")
    assert server.hub.stats().by_user == {}


def test_since_replays_then_streams_with_no_duplicate_and_no_gap_when_publishes_race_the_replay(
    server: Server,
) -> None:
    store = server.store
    for n in (1, 2):
        store.publish("user-a2", f"n{n}")
    # Stored but not yet published when the client reconnects, as when the forwarder lags: in the replay,
    # and published live while the replay is being read.
    late = store.add("user-a2", "n3")
    entered, release = threading.Event(), threading.Event()
    store.hold = (entered, release)
    with ThreadPoolExecutor(1) as pool:
        opening = pool.submit(server.connect, "user-a2", "?since=n1&token=key-a")
        assert entered.wait(10), "history was not called"
        store.hold = None
        server.hub.publish("user-a2", late)  # a duplicate of the replay's last item
        store.publish("user-a2", "n4")  # stored after the replay was read: only the live stream has it
        release.set()
        opened = opening.result(timeout=10)
    with opened as ws:
        assert [received(ws)["id"] for _ in range(3)] == ["n2", "n3", "n4"]
        store.publish("user-a2", "n5")
        assert received(ws)["id"] == "n5"  # the next frame: no copy of n3 came in between


def test_slow_client_is_closed_with_1013_while_a_fast_one_gets_everything_and_since_resumes(
    server: Server,
) -> None:
    with ExitStack() as sockets:
        fast = sockets.enter_context(server.connect("user-a3"))
        # Stops reading the socket once one frame waits.
        slow = sockets.enter_context(server.connect("user-a3", max_queue=1))
        check_slow_client(server, fast, slow)


def check_slow_client(server: Server, fast: ClientConnection, slow: ClientConnection) -> None:
    published: list[str] = []
    while server.hub.stats().overflows == 0:
        assert len(published) < 5000, "the slow client never overflowed"
        published.append(server.store.publish("user-a3", f"m{len(published)}", padding=32_000))
        assert fast.recv(timeout=10) == published[-1]
    assert server.hub.connections("user-a3") == 1

    got: list[str | bytes] = []
    with pytest.raises(ConnectionClosed):
        while True:
            got.append(slow.recv(timeout=10))
    assert slow.close_code == 1013
    assert (slow.close_reason or "").startswith("too slow to keep up")
    assert got == published[: len(got)] and len(got) < len(published)

    with server.connect("user-a3", f"?since={json.loads(got[-1])['id']}&token=key-a") as resumed:
        assert [resumed.recv(timeout=10) for _ in published[len(got) :]] == published[len(got) :]
        published.append(server.store.publish("user-a3", "after"))
        assert fast.recv(timeout=10) == resumed.recv(timeout=10) == published[-1]


@pytest.mark.parametrize(
    ("user_id", "query", "headers", "status", "detail"),
    [
        ("user-b4", "", {}, 401, "missing API key: send x-api-key, Authorization: Bearer or ?token="),
        ("user-a4", "?token=nope", {}, 401, "unknown API key"),
        ("user-b4", "?token=key-a", {}, 403, "this key may not read user 'user-b4'"),
        ("user-b4", "", {"x-api-key": "key-a"}, 403, "this key may not read user 'user-b4'"),
        ("user-b4", "?token=key-limited", {}, 429, "rate limit of 1 requests/s exceeded for key 'limited'"),
    ],
)
def test_a_refused_key_gets_401_403_or_429_on_the_handshake(
    server: Server, *, user_id: str, query: str, headers: dict[str, str], status: int, detail: str
) -> None:
    with (
        pytest.raises(InvalidStatus) as refused,
        connect(server.url(user_id, query), additional_headers=headers),
    ):
        pass
    response = refused.value.response
    assert response.status_code == status
    assert json.loads(response.body or b"") == {"detail": detail}
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="pushgateway-bridge"'
    if status == 429:
        assert response.headers["Retry-After"] == "3"
    assert server.hub.stats().connections == 0  # refused before subscribing


@pytest.mark.parametrize(
    ("user_id", "query", "headers"),
    [
        ("user-a5", "?token=key-a", {}),
        ("user-a5", "", {"x-api-key": "key-a"}),
        ("user-a5", "", {"Authorization": "Bearer key-a"}),
        ("anon-5", "", {}),  # no key at all: the anonymous scope allows this user
    ],
)
def test_a_key_in_the_token_parameter_or_a_header_or_none_where_anonymous_may(
    server: Server, user_id: str, query: str, headers: dict[str, str]
) -> None:
    with connect(server.url(user_id, query), additional_headers=headers, open_timeout=10) as ws:
        server.store.publish(user_id, "hello")
        assert received(ws)["id"] == "hello"


@pytest.mark.parametrize(
    ("user_id", "query", "detail"),
    [
        (
            "user-a6",
            "?since=n9&token=key-a",
            {"type": "value_error", "loc": ["query", "since"], "msg": "no notification 'n9' for this user"},
        ),
        (
            "-user-a6",
            "?token=key-all",
            {"type": "string_pattern_mismatch", "loc": ["path", "user_id"]},
        ),
    ],
)
def test_a_malformed_user_id_or_since_gets_422_naming_it(
    server: Server, user_id: str, query: str, detail: dict[str, Any]
) -> None:
    server.store.publish("user-a6", "n1")
    with pytest.raises(InvalidStatus) as refused, connect(server.url(user_id, query), open_timeout=10):
        pass
    assert refused.value.response.status_code == 422
    (problem,) = json.loads(refused.value.response.body or b"")["detail"]
    assert problem | detail == problem
    assert server.hub.stats().connections == 0


def raw_client(server: Server, user_id: str) -> socket.socket:
    """A socket that completes the handshake (sans-I/O) and then does nothing: a peer that froze."""
    protocol = ClientProtocol(parse_uri(server.url(user_id, "?token=key-all")))
    protocol.send_request(protocol.connect())
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"".join(protocol.data_to_send()))
    while not (events := protocol.events_received()):
        data = sock.recv(4096)
        assert data, "closed during the handshake"
        protocol.receive_data(data)
    assert isinstance(events[0], Response) and events[0].status_code == 101
    return sock


def test_a_peer_that_vanishes_without_a_close_frame_is_forgotten(server: Server) -> None:
    sock = raw_client(server, "user-a7")
    assert server.hub.connections("user-a7") == 1
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # a reset, no close frame
    wait_until(lambda: server.hub.stats().connections == 0, what="the reset socket forgotten")
    assert server.hub.stats().by_user == {}


@pytest.fixture
def pinging_server() -> Iterator[Server]:
    yield from serve(ws_ping_interval=0.1, ws_ping_timeout=0.1)


def test_a_peer_that_stops_answering_pings_is_dropped_and_forgotten(pinging_server: Server) -> None:
    server = pinging_server
    sock = raw_client(server, "user-a8")
    assert server.hub.connections("user-a8") == 1
    wait_until(lambda: server.hub.connections("user-a8") == 0, what="the silent peer forgotten")
    while sock.recv(4096):  # the ping, the close frame, then the end of the stream
        pass
    sock.close()


def test_tokens_in_the_query_are_redacted_from_uvicorns_log(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("uvicorn.error")
    redactor = RedactTokens()
    logger.addFilter(redactor)
    caplog.set_level(logging.INFO, logger="uvicorn.error")
    try:
        with server.connect("user-a9", "?token=key-a&x=1"):
            pass
        with pytest.raises(InvalidStatus), server.connect("user-b9", "?x=1&token=key-a"):
            pass  # refused: logged with its query too
    finally:
        logger.removeFilter(redactor)
    lines = [
        record.getMessage() for record in caplog.records if "/api/notifications/ws/" in record.getMessage()
    ]
    assert len(lines) == 2, lines
    assert "/user-a9?token=<redacted>&x=1" in lines[0] and "/user-b9?x=1&token=<redacted>" in lines[1], lines
    assert "key-a" not in caplog.text


NODE_SNIPPET = """\
const ws = new WebSocket('ws://localhost:8013/api/notifications/ws/user123');
ws.onmessage = (event) => {
  console.log('Notification:', event.data);
};
"""


def test_the_seeds_browser_snippet_prints_the_notification_under_node(server: Server, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        message = "node (20 or later) is needed for the seed's browser snippet"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    script = tmp_path / "realtime.js"
    script.write_text(NODE_SNIPPET.replace("localhost:8013", f"127.0.0.1:{server.port}"))
    process = subprocess.Popen(
        [node, "--experimental-websocket", str(script)], stdout=subprocess.PIPE, text=True
    )
    lines: Queue[str] = Queue()

    def read() -> None:
        for line in process.stdout or ():
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        wait_until(lambda: server.hub.connections("user123") == 1 or process.poll() is not None)
        assert process.poll() is None, "node exited before connecting"
        text = server.store.publish("user123", "seed-1")
        try:
            assert lines.get(timeout=10) == f"Notification: {text}\n"
        except Empty:
            pytest.fail("node printed nothing")
    finally:
        process.kill()
        process.wait(10)
    wait_until(lambda: server.hub.stats().connections == 0, what="node's socket forgotten")
