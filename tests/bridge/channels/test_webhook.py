"""Signed webhooks, against a receiver that verifies the HMAC signature."""

from __future__ import annotations

import time

import pytest

from bridge.channels.support import MESSAGE, NOBODY, raised
from fakes.http import Answer
from fakes.webhook import WebhookReceiver
from pushgateway_bridge.channels.base import Message
from pushgateway_bridge.channels.webhook import WebhookChannel, WebhookTarget


def test_webhook_posts_signed_json(receiver: WebhookReceiver) -> None:
    WebhookChannel({"ops": WebhookTarget(f"{receiver.url}/hooks/ops", "s3cret")}).send(MESSAGE, "ops")
    [delivery] = receiver.accepted  # the receiver checked the signature and the timestamp
    assert delivery.path == "/hooks/ops"
    assert delivery.json() == {
        "notification_id": MESSAGE.notification_id,
        "user_id": "user123",
        "subject": "Disk almost full",
        "text": MESSAGE.text,
        "priority": "critical",
        "link": MESSAGE.link,
        "data": {"host": "db-1", "used_ratio": 0.95},
    }
    assert delivery.headers["x-notification-id"] == MESSAGE.notification_id
    assert delivery.headers["x-notification-signature"].startswith("sha256=")


@pytest.mark.parametrize(
    ("secret", "clock_offset", "refusal"),
    [
        ("not-the-secret", 0.0, "signature does not match"),
        ("s3cret", -3600.0, "timestamp too far from the receiver's clock"),  # a replayed request
    ],
)
def test_webhook_refused_signatures(
    receiver: WebhookReceiver, secret: str, clock_offset: float, refusal: str
) -> None:
    channel = WebhookChannel(
        {"ops": WebhookTarget(receiver.url, secret)}, clock=lambda: time.time() + clock_offset
    )
    error = raised(channel.send, MESSAGE, "ops")
    assert (error.permanent, error.kind) == (False, "auth")  # 401: the secret, kept and retried
    assert receiver.refusals == [refusal]
    assert receiver.accepted == []


def test_webhook_targets_are_named_never_urls(receiver: WebhookReceiver) -> None:
    channel = WebhookChannel({"ops": WebhookTarget(receiver.url, "s3cret")})
    error = raised(channel.send, MESSAGE, receiver.url)
    assert (error.permanent, error.kind) == (True, "config")
    bad_data = Message(notification_id="n-3", subject="s", text="t", data={"when": object()})
    assert raised(channel.send, bad_data, "ops").permanent
    assert receiver.requests_seen == 0


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (404, True), (422, True), (408, False)])
def test_webhook_answers(receiver: WebhookReceiver, status: int, permanent: bool) -> None:
    receiver.fail_next(Answer.text(status, "no"))
    error = raised(WebhookChannel({"ops": WebhookTarget(receiver.url, "s3cret")}).send, MESSAGE, "ops")
    assert error.permanent is permanent


def test_webhook_no_answer() -> None:
    error = raised(WebhookChannel({"ops": WebhookTarget(NOBODY, "s3cret", timeout=2)}).send, MESSAGE, "ops")
    assert (error.permanent, error.kind) == (False, "unreachable")
