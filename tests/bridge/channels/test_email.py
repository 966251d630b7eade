"""Email over SMTP, against a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import ssl
from email.utils import parsedate_to_datetime

import pytest
import trustme

from bridge.channels.support import MESSAGE, raised
from fakes.smtp import SmtpRecorder, smtp_recorder
from pushgateway_bridge.channels.email import EmailChannel
from stack import free_port


def email_channel(smtp: SmtpRecorder, **overrides: object) -> EmailChannel:
    settings: dict[str, object] = {
        "host": smtp.host,
        "port": smtp.port,
        "security": "none",
        "from_address": "alerts@bridge.example",
    }
    return EmailChannel(**{**settings, **overrides})  # type: ignore[arg-type]


def test_email_sends_a_plain_utf8_mime_message() -> None:
    with smtp_recorder() as smtp:
        email_channel(smtp).send(MESSAGE, "owner@example.com")
        [mail] = smtp.to("owner@example.com")
    assert (mail.sender, mail.recipients) == ("alerts@bridge.example", ["owner@example.com"])
    assert mail.subject == "Disk almost full"
    assert mail.message["Message-ID"] == f"<{MESSAGE.notification_id}@bridge.example>"
    assert parsedate_to_datetime(mail.message["Date"]).tzinfo is not None
    assert mail.message.get_content_type() == "text/plain"
    assert mail.message.get_content_charset() == "utf-8"
    assert mail.text().replace("\r\n", "\n") == f"{MESSAGE.text}\n\n{MESSAGE.link}\n"
    assert mail.login is None


def test_email_starttls_and_login() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with smtp_recorder(credentials=("bridge", "pa55"), tls_context=server_context) as smtp:
        channel = email_channel(
            smtp, security="starttls", username="bridge", password="pa55", ssl_context=client_context
        )
        channel.send(MESSAGE, "owner@example.com")
        [mail] = smtp.accepted()
        assert (mail.login, mail.starttls) == ("bridge", True)
        wrong = email_channel(
            smtp, security="starttls", username="bridge", password="nope", ssl_context=client_context
        )
        error = raised(wrong.send, MESSAGE, "owner@example.com")
        assert (error.permanent, error.kind) == (False, "auth")  # 535: the credentials, kept
        assert "SMTP 535" in error.message
        untrusted = email_channel(smtp, security="starttls", username="bridge", password="pa55")
        assert raised(untrusted.send, MESSAGE, "owner@example.com").permanent is False  # unknown CA
    assert len(smtp.accepted()) == 1


@pytest.mark.parametrize(
    ("refuse", "reply", "permanent"),
    [
        ("rcpt", "550 5.1.1 no such user", True),
        ("rcpt", "450 4.2.1 mailbox busy", False),
        ("data", "554 5.6.0 message refused", True),
        ("data", "451 4.3.0 try again later", False),
    ],
)
def test_email_refusing_replies(refuse: str, reply: str, permanent: bool) -> None:
    with smtp_recorder() as smtp:
        if refuse == "rcpt":
            smtp.refuse_recipients["owner@example.com"] = reply
        else:
            smtp.data_reply = reply
        error = raised(email_channel(smtp).send, MESSAGE, "owner@example.com")
        assert smtp.accepted() == []
    assert error.permanent is permanent
    assert f"SMTP {reply}" in error.message


def test_email_no_answer_no_starttls_and_bad_addresses() -> None:
    port = free_port()
    error = raised(
        EmailChannel(host="127.0.0.1", port=port, security="none", from_address="a@b.example").send,
        MESSAGE,
        "owner@example.com",
    )
    assert (error.permanent, error.kind) == (False, "unreachable")
    with smtp_recorder() as smtp:  # offers no STARTTLS: the settings are wrong, kept until fixed
        error = raised(email_channel(smtp, security="starttls").send, MESSAGE, "owner@example.com")
        assert (error.permanent, error.kind) == (False, "auth")
        error = raised(email_channel(smtp).send, MESSAGE, "owner@example.com\r\nRCPT TO:<x@evil.example>")
        assert error.permanent
        assert smtp.accepted() == []
    with pytest.raises(ValueError, match="from_address"):
        email_channel(smtp, from_address="nobody")
