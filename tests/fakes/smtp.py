"""An SMTP server (aiosmtpd) that records each mail it accepts, and refuses as a test tells it to: a reply
for chosen recipients (`refuse_recipients`, e.g. "550 5.1.1 no such user" or "450 4.2.1 try later"), a
reply to DATA (`data_reply`), AUTH with other `credentials` (535), no AUTH before STARTTLS when it offers
STARTTLS. Lenient by default (any sender, any recipient, no AUTH): Alertmanager's end-to-end tests use it."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from stack import free_port


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message
    login: str | None = None  # the AUTH user, if the client authenticated
    starttls: bool = False  # whether the client switched to TLS first

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        parts = self.message.walk() if self.message.is_multipart() else [self.message]
        texts = []
        for part in parts:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
        return "\n".join(texts)


@dataclass
class SmtpRecorder:
    host: str
    port: int
    mails: list[Mail] = field(default_factory=list)
    refuse_recipients: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def smarthost(self) -> str:
        return f"{self.host}:{self.port}"

    def accepted(self) -> list[Mail]:
        with self.lock:
            return list(self.mails)

    def to(self, address: str) -> list[Mail]:
        return [mail for mail in self.accepted() if address in mail.recipients]


@contextmanager
def smtp_recorder(
    *,
    credentials: tuple[str, str] | None = None,
    tls_context: ssl.SSLContext | None = None,
    implicit_tls: bool = False,
) -> Iterator[SmtpRecorder]:
    """`credentials`: AUTH required, with these; `tls_context`: offer STARTTLS with it (or, `implicit_tls`,
    speak TLS from the first byte)."""
    recorder = SmtpRecorder("127.0.0.1", free_port())

    class Handler:
        async def handle_RCPT(
            self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
        ) -> str:
            refusal = recorder.refuse_recipients.get(address)
            if refusal is not None:
                return refusal
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            if recorder.data_reply is not None:
                return recorder.data_reply
            content = envelope.content if isinstance(envelope.content, bytes) else b""
            auth = session.auth_data
            login = auth.login.decode() if isinstance(auth, LoginPassword) else None
            mail = Mail(
                str(envelope.mail_from),
                [str(r) for r in envelope.rcpt_tos],
                message_from_bytes(content),
                login=login,
                starttls=session.ssl is not None and not implicit_tls,
            )
            with recorder.lock:
                recorder.mails.append(mail)
            return "250 OK"

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        given = (data.login.decode(), data.password.decode()) if isinstance(data, LoginPassword) else None
        return AuthResult(success=given == credentials, handled=False, auth_data=data)

    options: dict[str, Any] = {}
    if credentials is not None:
        options.update(
            authenticator=authenticate, auth_required=True, auth_require_tls=tls_context is not None
        )
    if implicit_tls:
        options["ssl_context"] = tls_context
    elif tls_context is not None:
        options.update(tls_context=tls_context, require_starttls=True)
    controller = Controller(Handler(), hostname=recorder.host, port=recorder.port, **options)
    controller.start()
    try:
        yield recorder
    finally:
        controller.stop()
