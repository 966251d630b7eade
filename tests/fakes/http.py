"""The base of the HTTP fakes: a threaded server on 127.0.0.1 (by default port 0: the kernel picks one) that
hands each request (POST; GET too where a fake lists it in `methods`) to `answer(request)`, and scripted
failures (`fail_next`) answered before any check."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True, strict_parsing=bool(self.body))

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, document: Any, headers: dict[str, str] | None = None) -> Answer:
        return cls(
            status, json.dumps(document).encode(), {"Content-Type": "application/json", **(headers or {})}
        )

    @classmethod
    def text(cls, status: int, text: str, headers: dict[str, str] | None = None) -> Answer:
        return cls(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8", **(headers or {})})


class Refuse(Exception):
    """Raised by a fake's checks: answer the request with `answer` instead."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


class FakeHttpServer:
    """Subclasses implement `answer` (or raise Refuse from it); they call `accept(item)` for what the real
    service would act on. `methods` are the HTTP methods handed to `answer`; others get a 501."""

    methods: ClassVar[tuple[str, ...]] = ("POST",)

    def __init__(self, port: int = 0) -> None:
        self.lock = threading.Lock()
        self._accepted: list[Any] = []
        self._scripted: deque[Answer] = deque()
        self.requests_seen = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self.handle_method("GET")

            def do_POST(self) -> None:
                self.handle_method("POST")

            def handle_method(self, method: str) -> None:
                if method not in fake.methods:  # as BaseHTTPRequestHandler answers a method it lacks
                    self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({method!r})")
                    return
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlsplit(self.path)
                headers = {name.lower(): value for name, value in self.headers.items()}
                request = Request(method, url.path, parse_qs(url.query, keep_blank_values=True), headers, raw)
                with fake.lock:
                    fake.requests_seen += 1
                    scripted = fake._scripted.popleft() if fake._scripted else None
                if scripted is None:
                    try:
                        scripted = fake.answer(request)
                    except Refuse as refusal:
                        scripted = refusal.answer
                self.reply(scripted)

            def reply(self, answer: Answer) -> None:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.serve, name=type(self).__name__, daemon=True)

    def serve(self) -> None:
        self.server.serve_forever(poll_interval=0.05)  # shutdown() waits up to one poll interval

    def answer(self, request: Request) -> Answer:
        raise NotImplementedError

    def accept(self, item: Any) -> None:
        with self.lock:
            self._accepted.append(item)

    @property
    def accepted(self) -> list[Any]:
        with self.lock:
            return list(self._accepted)

    def fail_next(self, answer: Answer, times: int = 1) -> None:
        """Answer the next `times` requests with `answer`, whatever they are (an outage, a rate limit)."""
        with self.lock:
            self._scripted.extend([answer] * times)

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
