"""Slack incoming webhooks, against a strict stand-in of Slack."""

from __future__ import annotations

import pytest

from bridge.channels.support import MESSAGE, NOBODY, raised
from fakes.http import Answer
from fakes.slack import SlackFake
from pushgateway_bridge.channels.base import Message
from pushgateway_bridge.channels.slack import SlackWebhookChannel


def test_slack_webhook_posts_text_and_blocks(slack: SlackFake) -> None:
    channel = SlackWebhookChannel({"ops": slack.webhook_url()})
    channel.send(MESSAGE, "ops")
    [post] = slack.accepted
    assert post.via == "webhook"
    assert post.body["text"] == "Disk almost full: db-1: 95% used &lt;of 2 TB&gt; &amp; rising"
    header, section, context, actions = post.body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "Disk almost full"}}
    assert section["text"] == {"type": "mrkdwn", "text": "db-1: 95% used &lt;of 2 TB&gt; &amp; rising"}
    assert context["elements"][0]["text"] == ":rotating_light: critical"
    assert actions["elements"][0]["url"] == MESSAGE.link


def test_slack_webhook_cuts_a_subject_to_the_header_limit(slack: SlackFake) -> None:
    long = Message(notification_id="n-2", subject="x" * 200, text="")
    SlackWebhookChannel({"ops": slack.webhook_url()}).send(long, "ops")
    [post] = slack.accepted
    assert post.body["blocks"][0]["text"]["text"] == "x" * 149 + "…"


@pytest.mark.parametrize(
    ("path", "status", "permanent", "kind"),
    [
        ("/services/T0/B9/unknown", 404, True, "rejected"),  # no_service
        ("/services/T0/B2/archived", 410, True, "rejected"),  # channel_is_archived
        ("/services/T0/B1/revoked", 403, False, "auth"),  # invalid_token: the credentials, kept
    ],
)
def test_slack_webhook_refusals(slack: SlackFake, path: str, status: int, permanent: bool, kind: str) -> None:
    error = raised(SlackWebhookChannel({"ops": slack.webhook_url(path)}).send, MESSAGE, "ops")
    assert (error.permanent, error.kind) == (permanent, kind)
    assert f"HTTP {status}" in error.message
    assert slack.accepted == []


@pytest.mark.parametrize(
    ("answer", "kind", "retry_after"),
    [
        (Answer.text(429, "rate_limited", {"Retry-After": "7"}), "http_429", 7.0),
        (Answer.text(503, "unavailable"), "http_503", None),
        (Answer.text(500, "rollup_error"), "http_500", None),
    ],
)
def test_slack_webhook_transient_answers(
    slack: SlackFake, answer: Answer, kind: str, retry_after: float | None
) -> None:
    slack.fail_next(answer)
    error = raised(SlackWebhookChannel({"ops": slack.webhook_url()}).send, MESSAGE, "ops")
    assert (error.permanent, error.kind, error.retry_after) == (False, kind, retry_after)


def test_slack_webhook_unknown_name_and_no_answer(slack: SlackFake) -> None:
    channel = SlackWebhookChannel({"ops": slack.webhook_url(), "down": f"{NOBODY}/services/T0/B0/x"})
    error = raised(channel.send, MESSAGE, "https://evil.example/hook")
    assert (error.permanent, error.kind) == (True, "config")
    assert slack.requests_seen == 0
    error = raised(channel.send, MESSAGE, "down")
    assert (error.permanent, error.kind) == (False, "unreachable")
