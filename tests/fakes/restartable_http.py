"""A threaded loopback HTTP server that tests stop and start again on the same port; its answers (`Reply`)."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

from stack import free_port


class Reply(NamedTuple):
    status: int
    content_type: str
    payload: bytes
    headers: tuple[tuple[str, str], ...] = ()


# What `fail_next` holds: a status, or a status with response headers (e.g. Retry-After).
Forced = int | tuple[int, dict[str, str]]


def forced_reply(forced: Forced) -> Reply:
    status, headers = (forced, {}) if isinstance(forced, int) else forced
    return json_reply(status, {"detail": "forced failure"}, headers)


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a held request (close() does) is gone before the answer: not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Receiver:
    """Base: a threaded HTTP server on a fixed loopback port that can be stopped and started again."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []  # every request: path, headers, status
        self._server: _Server | None = None

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> Reply:
        raise NotImplementedError

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, content_type, payload, headers = receiver.handle(self, body)
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        # A short poll interval: stop() waits for it (the default half second per server adds up).
        serve = self._server.serve_forever
        threading.Thread(target=serve, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, "application/json", json.dumps(body).encode(), tuple((headers or {}).items()))
