"""The transport of the Pushgateway and Loki sinks (sinks/http_endpoint.py): what they send besides the
group or the push (the URL's credentials and path prefix, Loki's tenant), and how each way of failing is
classified for the forwarder (tests/bridge/test_durability.py runs it against the real Pushgateway,
tests/bridge/test_loki_pushes.py against a strict Loki receiver)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.sinks.loki import LokiSink
from pushgateway_bridge.sinks.pushgateway import PushgatewaySink


class Recorder(ThreadingHTTPServer):
    status = 200
    seen: list[tuple[str, str, str | None, str | None, bytes]]
    tenants: list[str | None]


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, *args: Any) -> None:
        return None

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth, kind = self.headers.get("Authorization"), self.headers.get("Content-Type")
        self.server.seen.append((self.command, self.path, auth, kind, body))
        self.server.tenants.append(self.headers.get("X-Scope-OrgID"))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"nope")

    do_POST = do_PUT


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder(("127.0.0.1", 0), Handler)
    server.seen, server.tenants = [], []
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


def test_a_loki_push_carries_the_urls_credentials_path_prefix_and_tenant(recorder: Recorder) -> None:
    recorder.status = 204
    port = recorder.server_address[1]
    sink = LokiSink(f"http://bridge:p%40ss@127.0.0.1:{port}/logs/", "team-a", 5, 1024 * 1024)
    event = {"event_id": "e1", "source": "sidecar", "kind": "started", "name": "app", "received": time.time()}
    sink.send([{**event, "level": "info", "fields": {}}])
    [(method, path, auth, kind, body)] = recorder.seen
    assert (method, path, auth, kind) == (
        "POST",
        "/logs/loki/api/v1/push",
        "Basic YnJpZGdlOnBAc3M=",
        "application/json",
    )
    assert json.loads(body)["streams"][0]["values"][0][2] == {"event_id": "e1"}
    assert recorder.tenants == ["team-a"]
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
