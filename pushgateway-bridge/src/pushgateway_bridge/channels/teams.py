"""Microsoft Teams through a Workflows (Power Automate) webhook: an Adaptive Card 1.4 in a message.

The body is `{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
"content": <AdaptiveCard>}]}`; Workflows answers 202 Accepted (200 from some flows). Its URL carries the
flow's signature (`sig=`): a secret, never written into an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from pushgateway_bridge.channels.base import Message, TransportError, post, require_http_url

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"  # the newest version Teams renders everywhere (desktop, web, mobile)
MAX_ALERTS_SHOWN = 20  # a card of a bigger group gets too long to read; the title counts them all
PRIORITY_COLOURS = {"info": "Accent", "warning": "Warning", "critical": "Attention"}


def workflows_message(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    content = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "actions": actions,
    }
    return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": content}]}


def open_url(title: str, url: str) -> dict[str, Any]:
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def teams_card(webhook: dict[str, Any]) -> dict[str, Any]:
    """The card for an Alertmanager webhook: a title, then one block per alert."""
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
    for alert in alerts[:MAX_ALERTS_SHOWN]:
        annotations = alert.get("annotations") or {}
        labels = alert.get("labels") or {}
        summary = annotations.get("summary") or labels.get("alertname", "alert")
        body.append({"type": "TextBlock", "weight": "Bolder", "wrap": True, "text": summary})
        if annotations.get("description"):
            body.append({"type": "TextBlock", "wrap": True, "text": annotations["description"]})
        body.append(
            {"type": "FactSet", "facts": [{"title": k, "value": str(v)} for k, v in sorted(labels.items())]}
        )
    actions = [open_url("Open Alertmanager", webhook["externalURL"])] if webhook.get("externalURL") else []
    return workflows_message(body, actions)


def message_card(message: Message) -> dict[str, Any]:
    """The card for a notification: its subject, coloured by priority, its text and a link to more."""
    body = [
        {
            "type": "TextBlock",
            "size": "Large",
            "weight": "Bolder",
            "text": message.subject,
            "wrap": True,
            "color": PRIORITY_COLOURS[message.priority],
        },
        {"type": "TextBlock", "text": message.text, "wrap": True},
    ]
    return workflows_message(body, [open_url("Open", message.link)] if message.link else [])


def post_card(client: httpx.Client, url: str, card: dict[str, Any], what: str) -> None:
    post(client, url, what, json=card)


class TeamsChannel:
    """Cards to named Workflows webhooks: the address is a webhook's name, never a URL."""

    name = "teams"

    def __init__(self, webhooks: Mapping[str, str], *, timeout: float = 10.0) -> None:
        self.webhooks = {
            name: require_http_url(f"teams webhook {name}", url) for name, url in webhooks.items()
        }
        self.client = httpx.Client(timeout=timeout)

    def send(self, message: Message, address: str) -> None:
        url = self.webhooks.get(address)
        if url is None:
            raise TransportError(f"teams: no webhook named {address!r}", permanent=True, kind="config")
        post_card(self.client, url, message_card(message), f"teams {address}")

    def close(self) -> None:
        self.client.close()
