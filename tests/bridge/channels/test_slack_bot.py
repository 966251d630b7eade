"""Slack's chat.postMessage with a bot token, against a strict stand-in of Slack's Web API."""

from __future__ import annotations

import pytest

from bridge.channels.support import MESSAGE, NOBODY, raised
from fakes.http import Answer
from fakes.slack import SlackFake
from pushgateway_bridge.channels.slack import SlackBotChannel


def test_slack_bot_posts_to_a_channel_with_its_token(slack: SlackFake) -> None:
    SlackBotChannel("xoxb-test-token", api_url=slack.api_url).send(MESSAGE, "U0ALICE")
    [post] = slack.accepted
    assert (post.via, post.channel) == ("api", "U0ALICE")
    assert post.headers["authorization"] == "Bearer xoxb-test-token"
    assert post.headers["content-type"] == "application/json; charset=utf-8"
    assert post.body["text"].startswith("Disk almost full: ")
    assert post.body["blocks"][0]["type"] == "header"


@pytest.mark.parametrize(
    ("token", "address", "expected"),
    [
        ("xoxb-test-token", "C0NOPE", (True, "rejected", "channel_not_found")),
        ("xoxb-test-token", "C0OLD", (True, "rejected", "is_archived")),
        ("xoxb-wrong", "C0TEAM", (False, "auth", "invalid_auth")),
    ],
)
def test_slack_bot_api_errors(
    slack: SlackFake, token: str, address: str, expected: tuple[bool, str, str]
) -> None:
    error = raised(SlackBotChannel(token, api_url=slack.api_url).send, MESSAGE, address)
    permanent, kind, error_code = expected
    assert (error.permanent, error.kind) == (permanent, kind)
    assert f"chat.postMessage to {address}: {error_code}" in error.message
    assert slack.accepted == []


@pytest.mark.parametrize(
    ("answer", "kind", "retry_after"),
    [
        (Answer.json(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}), "http_429", 30.0),
        (
            Answer.json(200, {"ok": False, "error": "ratelimited"}, {"Retry-After": "5"}),
            "slack_ratelimited",
            5.0,
        ),
        (Answer.json(200, {"ok": False, "error": "internal_error"}), "slack_internal_error", None),
        (Answer.text(200, "<html>proxy</html>"), "bad_answer", None),
        (Answer.text(502, "bad gateway"), "http_502", None),
    ],
)
def test_slack_bot_transient_answers(
    slack: SlackFake, answer: Answer, kind: str, retry_after: float | None
) -> None:
    slack.fail_next(answer)
    error = raised(SlackBotChannel("xoxb-test-token", api_url=slack.api_url).send, MESSAGE, "C0TEAM")
    assert (error.permanent, error.kind, error.retry_after) == (False, kind, retry_after)


def test_slack_bot_no_answer() -> None:
    error = raised(SlackBotChannel("xoxb-test-token", api_url=f"{NOBODY}/api").send, MESSAGE, "C0TEAM")
    assert (error.permanent, error.kind) == (False, "unreachable")
