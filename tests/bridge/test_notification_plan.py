"""Which channels a notification goes out on: the seed's rules for `channel`, `to` and preferences."""

from __future__ import annotations

from typing import Any

import pytest

from pushgateway_bridge.notifications.config import Directory
from pushgateway_bridge.notifications.models import Channel, NotifyRequest
from pushgateway_bridge.notifications.plan import FAILED, QUEUED, SUPPRESSED, Delivery, PlanError, plan

CONFIGURED = Directory.of(
    email=True, sms=True, slack_webhooks=(), slack_bot=True, teams=(), webhooks=("audit",)
)


def request(**body: Any) -> NotifyRequest:
    return NotifyRequest.model_validate({"user_id": "user123", "subject": "s", "message": "m", **body})


def prefs(**by_channel: dict[str, Any]) -> dict[Channel, dict[str, Any]]:
    return {Channel(name): value for name, value in by_channel.items()}


def test_the_seeds_email_goes_to_its_to() -> None:
    body = request(type="email", channel="email", to="user123@example.com")
    assert plan(body, {}, CONFIGURED) == [Delivery(Channel.email, "user123@example.com", QUEUED)]


def test_a_channel_the_user_turned_off_is_suppressed_not_sent() -> None:
    body = request(channel="email", to="user123@example.com")
    off = prefs(email={"enabled": False})
    assert plan(body, off, CONFIGURED) == [Delivery(Channel.email, "user123@example.com", SUPPRESSED)]


def test_the_address_comes_from_the_preference_when_to_is_missing() -> None:
    on = prefs(sms={"enabled": True, "address": "+15550100"})
    assert plan(request(channel="sms"), on, CONFIGURED) == [Delivery(Channel.sms, "+15550100", QUEUED)]
    with pytest.raises(PlanError) as missing:
        plan(request(channel="email"), on, CONFIGURED)
    assert missing.value.field == "to"


def test_without_a_channel_every_enabled_one_goes_and_the_others_are_recorded() -> None:
    chosen = prefs(
        email={"enabled": True, "address": "a@example.com"},
        slack={"enabled": False, "address": "U123"},
        sms={"enabled": True},  # no address: recorded as failed, the others still go
        realtime={"enabled": True},
    )
    deliveries = plan(request(), chosen, CONFIGURED)
    assert [(d.channel, d.status) for d in deliveries] == [
        (Channel.email, QUEUED),
        (Channel.slack, SUPPRESSED),
        (Channel.sms, FAILED),
        (Channel.realtime, QUEUED),
    ]
    assert "no address for sms" in deliveries[2].error


def test_a_user_without_preferences_gets_the_in_app_channel() -> None:
    assert plan(request(), {}, CONFIGURED) == [Delivery(Channel.realtime, "", QUEUED)]


def test_a_webhook_is_a_configured_target_never_an_address_of_the_clients_choosing() -> None:
    assert plan(request(channel="webhook", to="audit"), {}, CONFIGURED)[0].status == QUEUED
    with pytest.raises(PlanError, match="no webhook target named 'other'"):
        plan(request(channel="webhook", to="other"), {}, CONFIGURED)
    with pytest.raises(ValueError, match="never a URL"):
        request(channel="webhook", to="http://169.254.169.254/latest")


def test_an_unconfigured_channel_is_named() -> None:
    with pytest.raises(PlanError) as unconfigured:
        plan(request(channel="teams", to="ops"), {}, CONFIGURED)
    assert unconfigured.value.field == "channel" and "teams is not configured" in unconfigured.value.message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "email", "to": "not-an-address"}, "to"),
        ({"channel": "sms", "to": "5550100"}, "to"),
        ({"to": "a@example.com"}, "to"),  # an address without its channel
        ({"channel": "pager"}, "channel"),
        ({"subject": "", "message": ""}, "message"),
        ({"priority": "urgent"}, "priority"),
    ],
)
def test_bad_requests_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        request(**body)
