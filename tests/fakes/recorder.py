"""A lenient HTTP recorder (for Alertmanager's Slack and webhook receivers): records every POST, answers
`status` (200 unless a test changes it). The channels' tests use the strict fakes beside it instead."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stack import free_port


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpRecorder:
    """Records every POST; answers `status` (200 unless a test changes it)."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    status: int = 200

    def posted_to(self, path: str) -> list[Recorded]:
        return [request for request in list(self.requests) if request.path == path]


@contextmanager
def http_recorder() -> Iterator[HttpRecorder]:
    port = free_port()
    recorder = HttpRecorder(f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            recorder.requests.append(Recorded(self.path, dict(self.headers.items()), body))
            self.send_response(recorder.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
