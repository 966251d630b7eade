"""The Alertmanager relays (Teams and SMS) send what the strict stand-ins accept."""

from __future__ import annotations

from fakes.teams import TeamsFake
from fakes.twilio import TwilioFake
from pushgateway_bridge.settings import NotifyConfig
from pushgateway_bridge.sinks.notify import NotifySink


def test_the_relays_send_what_teams_and_twilio_accept(teams: TeamsFake, twilio: TwilioFake) -> None:
    config = NotifyConfig.model_validate(
        {
            "teams": {"ops": {"url": {"value": teams.webhook_url()}}},
            "sms": {
                "oncall": {
                    "base_url": twilio.url,
                    "account_sid": twilio.account_sid,
                    "auth_token": {"value": twilio.auth_token},
                    "from_number": "+15550100",
                    "to": ["+15550199"],
                    "max_length": 15,
                }
            },
        }
    )
    webhook = {
        "status": "firing",
        "alerts": [
            {"labels": {"alertname": "Down", "service": "db"}, "annotations": {"summary": "DB is down"}}
        ],
    }
    sink = NotifySink(config, timeout=5)
    try:
        sink.send(
            [
                {"kind": "teams", "target": "ops", "webhook": webhook},
                {"kind": "sms", "target": "oncall", "webhook": webhook, "to": "+15550199"},
            ]
        )
    finally:
        sink.close()
    [card] = teams.accepted
    assert card["body"][0]["text"] == "[FIRING:1] alerts"
    [sms] = twilio.accepted
    assert sms.body == "FIRING: DB is …"  # the target's max_length, 15
