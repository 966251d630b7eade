"""Every notification channel through the real bridge's API, each against a local receiver that speaks the
real service's API and refuses what it refuses (tests/fakes/): the delivery recorded `sent` in history, a
permanent refusal `failed` with its error, a transient one retried until sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge.conftest import Bridge, BridgeFactory
from bridge.notification_receivers import (
    ADMIN,
    FROM_NUMBER,
    Receivers,
    bridge_config,
    notify,
    receivers,
    settled,
)
from fakes.http import Answer
from stack import Pushgateway


@pytest.fixture
def fakes() -> Iterator[Receivers]:
    with receivers() as running:
        yield running


@pytest.fixture
def bridge(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, tmp_path: Path, fakes: Receivers
) -> Bridge:
    return bridge_factory(pushgateway.url, config=bridge_config(tmp_path, fakes))


def history_ids(bridge: Bridge, **filters: str) -> list[str]:
    answer = requests.get(f"{bridge.url}/api/notifications", params=filters, headers=ADMIN, timeout=10)
    answer.raise_for_status()
    return [entry["id"] for entry in answer.json()["notifications"]]


def test_each_channel_delivers_to_its_service_and_history_records_it_sent(
    bridge: Bridge, fakes: Receivers
) -> None:
    content = {"user_id": "team-a-alice", "subject": "Disk almost full", "message": "db-1: 95% used"}
    sent = {
        "email": notify(bridge, **content, channel="email", to="alice@example.com"),
        "slack webhook": notify(bridge, **content, channel="slack", to="ops"),
        "slack bot": notify(bridge, **content, channel="slack", to="U0ALICE"),
        "teams": notify(bridge, **content, channel="teams", to="ops"),
        "sms": notify(bridge, **content, channel="sms", to="+15550123"),
        "webhook": notify(bridge, **content, channel="webhook", to="ops"),
    }
    for what, accepted in sent.items():
        (channel,) = accepted["deliveries"]
        delivery = settled(bridge, accepted["id"], channel)
        assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == ("sent", 1, None), what
        assert delivery["sent_at"] is not None, what
        assert accepted["id"] in history_ids(bridge, channel=channel, status="sent"), what

    (mail,) = fakes.smtp.to("alice@example.com")
    assert mail.subject == "Disk almost full" and "db-1: 95% used" in mail.text()
    assert sent["email"]["id"] in str(mail.message["Message-ID"])

    by_via = {post.via: post for post in fakes.slack.accepted}
    assert by_via.keys() == {"webhook", "api"}
    assert by_via["webhook"].channel == "/services/T0/B0/hooksecret"  # the webhook named ops
    assert by_via["api"].channel == "U0ALICE"
    for post in by_via.values():
        assert "Disk almost full" in post.body["text"] and "db-1: 95% used" in post.body["text"]

    (card,) = fakes.teams.accepted
    assert "Disk almost full" in str(card["body"]) and "db-1: 95% used" in str(card["body"])

    (sms,) = fakes.twilio.accepted
    assert (sms.to, sms.from_) == ("+15550123", FROM_NUMBER)
    assert "Disk almost full" in sms.body

    (hook,) = fakes.webhook.accepted
    assert fakes.webhook.refusals == []  # its HMAC signature and timestamp verified
    assert hook.path == "/hooks/bridge"
    assert hook.json()["notification_id"] == sent["webhook"]["id"]
    assert (hook.json()["subject"], hook.json()["text"]) == ("Disk almost full", "db-1: 95% used")


def test_a_permanent_refusal_is_recorded_failed_with_the_services_error(
    bridge: Bridge, fakes: Receivers
) -> None:
    content = {"user_id": "team-a-alice", "subject": "Deploy done", "message": "v2 is live"}
    unknown_user = notify(bridge, **content, channel="slack", to="U0NOBODY")  # the bot: channel_not_found
    archived = notify(bridge, **content, channel="slack", to="archive")  # the webhook: 410
    for accepted, error in ((unknown_user, "channel_not_found"), (archived, "channel_is_archived")):
        delivery = settled(bridge, accepted["id"], "slack")
        assert (delivery["status"], delivery["attempts"], delivery["sent_at"]) == ("failed", 1, None)
        assert error in delivery["last_error"]
    assert set(history_ids(bridge, status="failed")) == {unknown_user["id"], archived["id"]}
    assert (fakes.slack.requests_seen, fakes.slack.accepted) == (2, [])  # each refused by Slack, once


def test_a_transient_refusal_is_retried_until_sent(bridge: Bridge, fakes: Receivers) -> None:
    fakes.teams.fail_next(Answer.json(503, {"error": {"code": "ServiceUnavailable"}}), times=2)
    fakes.twilio.fail_next(Answer.json(500, {"code": 20500, "message": "Internal Server Error"}))
    content = {"user_id": "team-a-alice", "subject": "Backup failed", "message": "nightly backup"}
    teams = notify(bridge, **content, channel="teams", to="ops")
    sms = notify(bridge, **content, channel="sms", to="+15550123")
    for accepted, channel, attempts in ((teams, "teams", 3), (sms, "sms", 2)):
        delivery = settled(bridge, accepted["id"], channel)
        assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == ("sent", attempts, None)
    assert len(fakes.teams.accepted) == len(fakes.twilio.accepted) == 1
    assert (fakes.teams.requests_seen, fakes.twilio.requests_seen) == (3, 2)
