"""Email over SMTP (stdlib smtplib): one text/plain UTF-8 message per recipient.

Security `none` (plain, for a local relay), `starttls` (submission, port 587) or `tls` (implicit TLS, 465);
AUTH only when a username is given. SMTP replies map onto the bridge's rule: 4xx transient, 5xx
permanent (a 5xx to RCPT is permanent for that address); a refused AUTH (535), or a server without the
STARTTLS/AUTH the settings ask for, is a credentials error (kept, retried); no answer is transient.
The Message-ID is built from the notification id, so a resent mail is recognisably the same mail.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

from pushgateway_bridge.channels.base import Message, TransportError

Security = Literal["none", "starttls", "tls"]
MESSAGE_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]")  # outside RFC 5322's dot-atom


def is_address(value: str) -> bool:
    """Plausibly an address: one @, nothing a header or an SMTP command could be split on."""
    return value.count("@") == 1 and not any(c.isspace() or ord(c) < 32 for c in value)


def mime_message(message: Message, from_address: str, to: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = from_address
    mail["To"] = to
    mail["Subject"] = " ".join(message.subject.split())  # a header holds one line
    mail["Date"] = formatdate(usegmt=True)
    domain = from_address.rpartition("@")[2] or "localhost"
    mail["Message-ID"] = f"<{MESSAGE_ID_UNSAFE.sub('-', message.notification_id)}@{domain}>"
    if message.priority == "critical":
        mail["Importance"] = "high"
    text = f"{message.text}\n\n{message.link}\n" if message.link else f"{message.text}\n"
    mail.set_content(text, charset="utf-8")
    return mail


def reply_text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def reply_error(what: str, code: int, reply: bytes | str) -> TransportError:
    """A refusing SMTP reply: 5xx permanent, anything else (4xx) transient."""
    permanent = 500 <= code < 600
    return TransportError(
        f"{what}: SMTP {code} {reply_text(reply)}",
        permanent=permanent,
        kind="rejected" if permanent else f"smtp_{code}",
    )


class EmailChannel:
    """Mail to an email address, sent through one SMTP server."""

    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_address: str,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,  # default: the system's CAs, hostname checked
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"email security: must be none, starttls or tls, not {security!r}")
        if not is_address(from_address):
            raise ValueError(f"email from_address: {from_address!r} is not an email address")
        self.host, self.port, self.security = host, port, security
        self.from_address = from_address
        self.username, self.password = username, password
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()

    def send(self, message: Message, address: str) -> None:
        what = f"email to {address}"
        if not is_address(address):
            raise TransportError(f"{what}: not an email address", permanent=True)
        mail = mime_message(message, self.from_address, address)
        try:
            with self.connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=self.ssl_context)
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail, from_addr=self.from_address, to_addrs=[address])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = exc.recipients.get(address, (550, b"refused"))
            raise reply_error(what, code, reply) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(
                f"{what}: SMTP {exc.smtp_code} {reply_text(exc.smtp_error)} (check the username, password)",
                kind="auth",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise TransportError(f"{what}: {exc} (check the security setting)", kind="auth") from None
        except smtplib.SMTPResponseException as exc:
            raise reply_error(what, exc.smtp_code, exc.smtp_error) from None
        except TimeoutError as exc:
            raise TransportError(f"{what}: timed out: {exc}", kind="timeout") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"{what}: {type(exc).__name__}: {exc}", kind="unreachable") from None

    def connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.ssl_context)
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def close(self) -> None:
        return None  # one connection per mail: nothing stays open
