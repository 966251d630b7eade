"""Alertmanager webhooks relayed to Teams Workflows and Twilio SMS; the wire formats are the channels'."""

from __future__ import annotations

from typing import Any

import httpx

from pushgateway_bridge.channels import sms, teams
from pushgateway_bridge.settings import NotifyConfig
from pushgateway_bridge.sinks.base import SinkError


class NotifySink:
    downstream = "notify"

    def __init__(self, config: NotifyConfig, timeout: float) -> None:
        self.config = config
        self.client = httpx.Client(timeout=timeout)

    def send(self, payloads: list[dict[str, Any]]) -> None:
        for payload in payloads:
            if payload["kind"] == "teams":
                self._teams(payload["target"], payload["webhook"])
            else:
                self._sms(payload["target"], payload["webhook"], payload["to"])

    # Secrets are resolved at each send, as before: a rotated token file is read without a restart.
    def _teams(self, target: str, webhook: dict[str, Any]) -> None:
        found = self.config.teams.get(target)
        if found is None:
            raise SinkError(f"teams target {target!r} is no longer configured", permanent=True, kind="config")
        teams.post_card(self.client, found.url.resolve(), teams.teams_card(webhook), f"teams {target}")

    def _sms(self, target: str, webhook: dict[str, Any], to: str) -> None:
        found = self.config.sms.get(target)
        if found is None:
            raise SinkError(f"sms target {target!r} is no longer configured", permanent=True, kind="config")
        account = sms.TwilioAccount(
            found.account_sid, found.auth_token.resolve(), found.from_number, found.base_url
        )
        text = sms.sms_text(webhook, min(found.max_length, sms.MAX_BODY_CHARACTERS))
        sms.post_sms(self.client, account, to, text, f"sms {target}")

    def close(self) -> None:
        self.client.close()
