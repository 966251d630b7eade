"""Teams and SMS, which Alertmanager 0.25 cannot send: the rendered routes send them as webhooks to the
bridge's relays, authenticated with the bridge key file; the bridge turns them into a Teams Workflows card
and Twilio-shaped SMS requests. All real processes; Teams and Twilio are local recorders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from bridge.conftest import ADMIN_KEY, BridgeFactory, default_config

from fakes.recorder import http_recorder
from generator.alertmanager import REPO_TEMPLATES
from generator.alertmanager import render as render_alertmanager
from rules.sources import live_source
from stack import Pushgateway, Stack, wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_a_critical_settlements_alert_reaches_teams_and_sms_through_the_bridge(
    stack: Stack, pushgateway: Pushgateway, bridge_factory: BridgeFactory, tmp_path: Path
) -> None:
    with http_recorder() as external:
        token = tmp_path / "twilio_token"
        token.write_text("twilio-secret\n")
        config = {
            **default_config(),
            "notify": {
                "teams": {"ops": {"url": {"value": f"{external.url}/teams"}}},
                "sms": {
                    "oncall": {
                        "base_url": external.url,
                        "account_sid": "AC42",
                        "auth_token": {"file": str(token)},
                        "from_number": "+15550100",
                        "to": ["+15550199"],
                    }
                },
            },
        }
        bridge = bridge_factory(pushgateway.url, config=config)
        key_file = tmp_path / "bridge_api_key"
        key_file.write_text(ADMIN_KEY)

        def change(raw: dict[str, Any]) -> None:
            raw.update(bridge_url=bridge.url, bridge_api_key_file=str(key_file))
            raw["alertmanager"].update(group_wait="1s", group_interval="1s")

        source = live_source(tmp_path, change)
        alertmanager = stack.alertmanager(render_alertmanager(source, REPO_TEMPLATES))

        # Routed by the committed routes: critical -> oncall-sms (continue), team=settlements -> ops-teams.
        alertmanager.post_alerts(
            [
                {
                    "labels": {
                        "alertname": "SchedulerDeadlineMissed",
                        "severity": "critical",
                        "team": "settlements",
                        "scheduler_id": "my-service-eod-process",
                    },
                    "annotations": {"summary": "EOD missed its 19:00 deadline", "description": "not done"},
                }
            ]
        )
        teams = wait_until(lambda: external.posted_to("/teams"), timeout=20, what="the Teams card")
        card = teams[0].json()
        assert card["type"] == "message"
        content = card["attachments"][0]["content"]
        assert content["type"] == "AdaptiveCard"
        assert "SchedulerDeadlineMissed" in json.dumps(content)

        sms = wait_until(
            lambda: external.posted_to("/2010-04-01/Accounts/AC42/Messages.json"), timeout=20, what="the SMS"
        )
        form = parse_qs(sms[0].body.decode())
        assert form["To"] == ["+15550199"] and form["From"] == ["+15550100"]
        assert "EOD missed its 19:00 deadline" in form["Body"][0]
        assert sms[0].headers["Authorization"].startswith("Basic ")
