"""Teams Workflows webhooks: Adaptive Card messages, against a strict stand-in."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from bridge.channels.support import MESSAGE, NOBODY, raised
from fakes.http import Answer
from fakes.teams import Refused, TeamsFake, check_workflows_message
from pushgateway_bridge.channels.teams import TeamsChannel, post_card, teams_card


def test_teams_posts_an_adaptive_card(teams: TeamsFake) -> None:
    TeamsChannel({"ops": teams.webhook_url()}).send(MESSAGE, "ops")
    [card] = teams.accepted
    assert card["version"] == "1.4"
    title, text = card["body"]
    assert (title["text"], title["color"]) == ("Disk almost full", "Attention")
    assert text["text"] == MESSAGE.text
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open", "url": MESSAGE.link}]


def test_the_alertmanager_card_is_a_valid_workflows_message(teams: TeamsFake) -> None:
    webhook = {
        "status": "firing",
        "commonLabels": {"alertname": "SchedulerFailed"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [{"labels": {"alertname": "SchedulerFailed"}, "annotations": {"summary": "EOD failed"}}],
    }
    with httpx.Client() as client:
        post_card(client, teams.webhook_url(), teams_card(webhook), "teams ops")
    [card] = teams.accepted
    assert card["body"][0]["text"] == "[FIRING:1] SchedulerFailed"
    assert card["body"][1]["text"] == "EOD failed"


def test_the_teams_fake_refuses_a_legacy_message_card(teams: TeamsFake) -> None:
    legacy = {"@type": "MessageCard", "text": "hello"}
    with httpx.Client() as client:
        error = raised(post_card, client, teams.webhook_url(), legacy, "teams ops")
    assert (error.permanent, error.kind) == (True, "rejected")
    assert "InvalidRequestContent" in error.message
    future = teams_card({})
    future["attachments"][0]["content"]["version"] = "2.0"
    with pytest.raises(Refused, match=re.escape("unsupported AdaptiveCard version '2.0'")):
        check_workflows_message(future)


@pytest.mark.parametrize(
    ("url_of", "permanent", "kind", "status"),
    [
        (lambda fake: fake.webhook_url(sig="forged"), False, "auth", 401),
        (lambda fake: fake.url + "/workflows/gone/triggers/manual/paths/invoke?sig=x", True, "rejected", 404),
    ],
)
def test_teams_refusals(
    teams: TeamsFake, url_of: Callable[[TeamsFake], str], permanent: bool, kind: str, status: int
) -> None:
    error = raised(TeamsChannel({"ops": url_of(teams)}).send, MESSAGE, "ops")
    assert (error.permanent, error.kind) == (permanent, kind)
    assert f"HTTP {status}" in error.message
    assert "forged" not in error.message and "sig=" not in error.message  # the URL is a secret


def test_teams_transient_unknown_and_no_answer(teams: TeamsFake) -> None:
    channel = TeamsChannel({"ops": teams.webhook_url(), "down": f"{NOBODY}/workflows/x"})
    teams.fail_next(Answer.json(429, {"error": {"code": "WorkflowRequestsThrottled"}}, {"Retry-After": "12"}))
    error = raised(channel.send, MESSAGE, "ops")
    assert (error.permanent, error.kind, error.retry_after) == (False, "http_429", 12.0)
    assert (raised(channel.send, MESSAGE, "down").kind, raised(channel.send, MESSAGE, "nope").kind) == (
        "unreachable",
        "config",
    )
    assert teams.accepted == []
