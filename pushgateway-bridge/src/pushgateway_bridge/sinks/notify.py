"""Notifications rendered from Alertmanager webhooks: Teams Workflows cards and Twilio SMS."""

from __future__ import annotations

from typing import Any

import httpx

from pushgateway_bridge.core.config import NotifyConfig
from pushgateway_bridge.sinks.base import SinkError, check_response, transport_error


def teams_card(webhook: dict[str, Any]) -> dict[str, Any]:
    """An Adaptive Card message for a Teams Workflows webhook, one block per alert."""
    status = str(webhook.get("status", "firing"))
    alerts = list(webhook.get("alerts") or [])
    common = webhook.get("commonLabels") or {}
    title = f"[{status.upper()}:{len(alerts)}] {common.get('alertname', 'alerts')}"
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "size": "Large",
            "weight": "Bolder",
            "text": title,
            "wrap": True,
            "color": "Good" if status == "resolved" else "Attention",
        },
    ]
    for alert in alerts[:20]:
        annotations = alert.get("annotations") or {}
        labels = alert.get("labels") or {}
        body.append(
            {
                "type": "TextBlock",
                "weight": "Bolder",
                "wrap": True,
                "text": annotations.get("summary") or labels.get("alertname", "alert"),
            }
        )
        if annotations.get("description"):
            body.append({"type": "TextBlock", "wrap": True, "text": annotations["description"]})
        body.append(
            {"type": "FactSet", "facts": [{"title": k, "value": str(v)} for k, v in sorted(labels.items())]}
        )
    actions = []
    if webhook.get("externalURL"):
        actions.append(
            {"type": "Action.OpenUrl", "title": "Open Alertmanager", "url": webhook["externalURL"]}
        )
    content = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
    }
    return {
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": content}],
    }


def sms_text(webhook: dict[str, Any], max_length: int) -> str:
    status = str(webhook.get("status", "firing")).upper()
    parts = []
    for alert in webhook.get("alerts") or []:
        labels = alert.get("labels") or {}
        summary = (alert.get("annotations") or {}).get("summary") or labels.get("alertname", "alert")
        where = labels.get("service") or labels.get("scheduler_id") or labels.get("instance") or ""
        parts.append(f"{summary}{' (' + where + ')' if where else ''}")
    text = f"{status}: " + "; ".join(parts)
    return text if len(text) <= max_length else text[: max_length - 1] + "…"


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

    def _teams(self, target: str, webhook: dict[str, Any]) -> None:
        found = self.config.teams.get(target)
        if found is None:
            raise SinkError(f"teams target {target!r} is no longer configured", permanent=True, kind="config")
        try:
            response = self.client.post(found.url.resolve(), json=teams_card(webhook))
        except httpx.HTTPError as exc:
            raise transport_error(exc, f"teams {target}") from None
        check_response(response, f"teams {target}")

    def _sms(self, target: str, webhook: dict[str, Any], to: str) -> None:
        found = self.config.sms.get(target)
        if found is None:
            raise SinkError(f"sms target {target!r} is no longer configured", permanent=True, kind="config")
        url = f"{found.base_url.rstrip('/')}/2010-04-01/Accounts/{found.account_sid}/Messages.json"
        form = {"To": to, "From": found.from_number, "Body": sms_text(webhook, found.max_length)}
        try:
            response = self.client.post(url, data=form, auth=(found.account_sid, found.auth_token.resolve()))
        except httpx.HTTPError as exc:
            raise transport_error(exc, f"sms {target}") from None
        check_response(response, f"sms {target}")

    def close(self) -> None:
        self.client.close()
