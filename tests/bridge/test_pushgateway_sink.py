"""The Pushgateway sink's transport: what it sends besides the group (the URL's credentials and path
prefix), and how each way of failing is classified for the forwarder (tests/bridge/test_durability.py runs
it against the real Pushgateway)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.sinks.pushgateway import PushgatewaySink


class Recorder(ThreadingHTTPServer):
    status = 200
    seen: list[tuple[str, str, str | None, str | None, bytes]]


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, *args: Any) -> None:
        return None

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth, kind = self.headers.get("Authorization"), self.headers.get("Content-Type")
        self.server.seen.append(("PUT", self.path, auth, kind, body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"nope")


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder(("127.0.0.1", 0), Handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_push_carries_the_urls_credentials_and_path_prefix(recorder: Recorder) -> None:
    port = recorder.server_address[1]
    sink = PushgatewaySink(f"http://bridge:p%40ss@127.0.0.1:{port}/gateway/", timeout=5)
    sink.put("/metrics/job/a", "x 1\n")
    sink.put("/metrics/job/b", "x 2\n")  # the kept connection
    assert recorder.seen == [
        ("PUT", "/gateway/metrics/job/a", "Basic YnJpZGdlOnBAc3M=", "text/plain; version=0.0.4", b"x 1\n"),
        ("PUT", "/gateway/metrics/job/b", "Basic YnJpZGdlOnBAc3M=", "text/plain; version=0.0.4", b"x 2\n"),
    ]
    sink.close()


@pytest.mark.parametrize(("status", "permanent", "kind"), [(400, True, "rejected"), (503, False, "http_503")])
def test_a_refused_push_is_classified_by_its_status(
    recorder: Recorder, status: int, permanent: bool, kind: str
) -> None:
    recorder.status = status
    sink = PushgatewaySink(f"http://127.0.0.1:{recorder.server_address[1]}", timeout=5)
    with pytest.raises(SinkError) as refused:
        sink.put("/metrics/job/a", "x 1\n")
    assert (refused.value.permanent, refused.value.kind) == (permanent, kind)
    assert f"PUT /metrics/job/a: HTTP {status}: nope" == refused.value.message


def test_no_listener_is_unreachable_and_no_answer_is_a_timeout() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(SinkError) as refused:
        PushgatewaySink(f"http://127.0.0.1:{port}", timeout=5).put("/metrics/job/a", "x 1\n")
    assert (refused.value.permanent, refused.value.kind) == (False, "unreachable")
    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(SinkError) as waited:
            PushgatewaySink(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.2).delete("/x")
    assert (waited.value.permanent, waited.value.kind) == (False, "timeout")
