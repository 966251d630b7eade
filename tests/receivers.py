"""Local stand-ins for notification endpoints: an HTTP recorder (Slack, webhooks) and an SMTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

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


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        parts = self.message.walk() if self.message.is_multipart() else [self.message]
        texts = []
        for part in parts:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(errors="replace"))
        return "\n".join(texts)


@dataclass
class SmtpRecorder:
    host: str
    port: int
    mails: list[Mail] = field(default_factory=list)

    @property
    def smarthost(self) -> str:
        return f"{self.host}:{self.port}"

    def to(self, address: str) -> list[Mail]:
        return [mail for mail in list(self.mails) if address in mail.recipients]


@contextmanager
def smtp_recorder() -> Iterator[SmtpRecorder]:
    recorder = SmtpRecorder("127.0.0.1", free_port())

    class Handler:
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            content = envelope.content if isinstance(envelope.content, bytes) else b""
            recorder.mails.append(
                Mail(
                    str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], message_from_bytes(content)
                )
            )
            return "250 OK"

    controller = Controller(Handler(), hostname=recorder.host, port=recorder.port)
    controller.start()
    try:
        yield recorder
    finally:
        controller.stop()
